/**
 * textNesting must never say less than SWI-Prolog's reader meets, or a datagram could overflow
 * the WASM stack; saying more only refuses a strange datagram.
 */
import { describe, expect, it } from 'vitest'
import { nestsDeeperThan, textNesting } from '../../core/engine/text-nesting.ts'

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

describe('nestsDeeperThan', () => {
  it('lets text with few opening brackets through without scanning it', () => {
    expect(nestsDeeperThan('%-prolog-\nsend(assert(tp(1,"' + 'x'.repeat(1000) + '")))', 1_000)).toBe(false)
    expect(nestsDeeperThan('f(g(a))', 2)).toBe(false)
    expect(nestsDeeperThan('f(g(a))', 1)).toBe(true)
  })

  it('still refuses deep nesting, however the brackets are written', () => {
    expect(nestsDeeperThan('['.repeat(1_001) + ']'.repeat(1_001), 1_000)).toBe(true)
    expect(nestsDeeperThan('f(' + '{'.repeat(600) + '('.repeat(600), 1_000)).toBe(true)
    // Past a radix number the scanner trusts no quote: the brackets inside count.
    expect(nestsDeeperThan("f(16'FF, '" + '('.repeat(1_001) + "')", 1_000)).toBe(true)
  })

  it('scans text with many brackets that do not nest deeply, and lets it through', () => {
    expect(nestsDeeperThan('[' + '(a),'.repeat(5_000) + 'b]', 1_000)).toBe(false)
    expect(nestsDeeperThan("f('" + '('.repeat(5_000) + "')", 1_000)).toBe(false)
  })
})
