/**
 * textNesting must never say less than SWI-Prolog's reader meets, or a datagram could overflow
 * the WASM stack; saying more only refuses a strange datagram.
 */
import { describe, expect, it } from 'vitest'
import { textNesting } from '../../core/engine/text-nesting.ts'

describe('textNesting', () => {
  it.each([
    ['a', 0],
    ['f(a)', 1],
    ['f(g([a, {b}]))', 4],
    ['f(a), g(b)', 1],
    ["f('((((')", 1],
    ['f("[[[[")', 1],
    ['f(`{{{{`)', 1],
    ["f('it''s (')", 1],
    ["f('a\\'(((')", 1],
    ['f(a) % ((((\n', 1],
    ['f(a) /* (((( */', 1],
    ["f(0'(, 0'))", 1],
    ['%-prolog-\nsend(temperature(kitchen,21.5))', 2]
  ])('%j nests %i deep', (text, depth) => {
    expect(textNesting(text)).toBe(depth)
  })

  it('counts 20,000 nested lists', () => {
    expect(textNesting('['.repeat(20_000) + ']'.repeat(20_000))).toBe(20_000)
  })

  it.each([
    ['a radix number, where quoting is unclear', "f(16'FF, '))))', " + 'g('.repeat(50), 50],
    ['a numeric escape', "f('\\x41\\', ')))', " + 'g('.repeat(50), 50],
    ["0''", "f(0'', ')))', " + 'g('.repeat(50), 50],
    ['a comment after a symbol character', 'f(a -/* ))) */, ' + 'g('.repeat(50), 50]
  ])('after %s, closing brackets no longer count', (_name, text, inner) => {
    expect(textNesting(text)).toBeGreaterThanOrEqual(inner + 1)
  })
})
