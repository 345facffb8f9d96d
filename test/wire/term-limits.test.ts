import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidTermError } from '../../core/wire/errors.ts'
import { DEFAULT_TERM_LIMITS } from '../../core/wire/limits.ts'
import { decodeTerm, encodeTerm } from '../../core/wire/term-codec.ts'
import { atom, compound } from '../../core/wire/term.ts'
import { termArbitrary } from '../arbitraries.ts'
import { fromHex } from './diagnostic.ts'
import type { TermLimits } from '../../core/wire/limits.ts'

/** The reason decodeTerm gives, checking that it threw the typed error from an explicit check. */
function reasonOf (bytes: Uint8Array, limits: Partial<TermLimits> = {}): string {
  try {
    decodeTerm(bytes, limits)
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidTermError)
    expect(err).toHaveProperty('name', 'InvalidTermError')
    // A cause means a wrapped surprise (a RangeError, ...): a check is missing.
    expect((err as Error).cause).toBeUndefined()
    return (err as InvalidTermError).reason
  }
  return 'accepted'
}

const h = fromHex
const nested = (depth: number): Uint8Array => Uint8Array.from({ length: depth + 1 }, (_, i) => i < depth ? 0x81 : 0x80)

describe('term decoding', () => {
  it('rejects more bytes than maxBytes', () => {
    const text = encodeTerm('x'.repeat(100))
    expect(reasonOf(text, { maxBytes: 101 })).toBe('too-large')
    expect(reasonOf(text, { maxBytes: 102 })).toBe('accepted')
    expect(reasonOf(new Uint8Array(DEFAULT_TERM_LIMITS.maxBytes + 1))).toBe('too-large')
  })

  it('rejects nesting deeper than maxDepth', () => {
    expect(reasonOf(nested(1_000))).toBe('accepted')
    expect(reasonOf(nested(1_001))).toBe('too-deep')
    expect(reasonOf(encodeTerm(compound('f', compound('g', atom('a')))), { maxDepth: 1 })).toBe('too-deep')
  })

  it('rejects an array nested 20,000 deep without overflowing the stack', () => {
    expect(reasonOf(nested(20_000))).toBe('too-deep')
    expect(reasonOf(nested(20_000), { maxDepth: 30_000, maxNodes: 30_000 })).toBe('accepted')
  })

  it('rejects more nodes than maxNodes', () => {
    const list = encodeTerm(Array.from({ length: 10 }, () => 1n)) // the list and 10 elements: 11 nodes
    expect(reasonOf(list, { maxNodes: 11 })).toBe('accepted')
    expect(reasonOf(list, { maxNodes: 10 })).toBe('too-many-nodes')
  })

  it('rejects a text over maxTextBytes: string, atom or functor name', () => {
    for (const t of ['x'.repeat(11), atom('x'.repeat(11)), compound('x'.repeat(11), 1n)]) {
      expect(reasonOf(encodeTerm(t), { maxTextBytes: 10 })).toBe('text-too-long')
    }
    expect(reasonOf(encodeTerm('x'.repeat(10)), { maxTextBytes: 10 })).toBe('accepted')
  })

  it('rejects a bignum over maxBignumBytes', () => {
    expect(reasonOf(encodeTerm(2n ** 79n), { maxBignumBytes: 10 })).toBe('accepted') // 80 bits: 10 bytes
    expect(reasonOf(encodeTerm(2n ** 80n), { maxBignumBytes: 10 })).toBe('bignum-too-large')
  })

  it('rejects a rational part over maxRationalBytes', () => {
    const rational = { numerator: 1n, denominator: 2n ** 79n + 1n } // 80 bits: 10 bytes
    expect(reasonOf(encodeTerm(rational), { maxRationalBytes: 10 })).toBe('accepted')
    expect(reasonOf(encodeTerm({ ...rational, numerator: -(2n ** 80n) - 1n }), { maxRationalBytes: 10 })).toBe('bignum-too-large')
  })

  it('rejects a term truncated at every byte offset', () => {
    const bytes = encodeTerm(compound('f', atom('kitchen'), 'text', 21.5, 0.1, 2n ** 70n, [1n, 2n], { items: [1n], tail: { var: 0 } },
      { numerator: 1n, denominator: 3n }))
    for (let end = 0; end < bytes.length; end++) expect(reasonOf(bytes.subarray(0, end))).toBe('truncated')
  })

  it('rejects a length claim beyond the input without allocating it', () => {
    expect(reasonOf(h('9b 0000000100000000'))).toBe('truncated') // an array of 2^32 elements
    expect(reasonOf(h('7a 00007fff'))).toBe('truncated')
    expect(reasonOf(h('d81b 9a ffffffff 61 66'))).toBe('truncated')
  })

  it('rejects reserved additional information (malformed)', () => {
    for (const byte of ['1c', '3d', '7e', '9c', 'dc', 'fc', 'fd', 'fe']) expect(reasonOf(h(byte))).toBe('malformed')
  })

  it('rejects indefinite-length items and a stray break (malformed)', () => {
    for (const bytes of ['9f 01 ff', '7f 61 61 ff', '3f', 'd81b 9f 61 66 ff', 'ff']) expect(reasonOf(h(bytes))).toBe('malformed')
  })

  it('rejects tags outside the term grammar', () => {
    for (const bytes of ['c1 1a 5f 5e 10 00', 'd8 18 41 01', 'd9 d9f7 01', 'd8 1c 01', 'd8 20 61 61', 'db 0000000100000000 00']) {
      expect(reasonOf(h(bytes))).toBe('unknown-tag')
    }
  })

  it('rejects text that is not UTF-8', () => {
    const bad = ['61 ff', '62 c0 80', '61 80', '63 ed a0 80', '62 e2 82', '64 f4 90 80 80']
    for (const text of bad) {
      expect(reasonOf(h(text))).toBe('bad-utf8')
      expect(reasonOf(h('d827 ' + text))).toBe('bad-utf8')
    }
    expect(reasonOf(h('78 21' + '61'.repeat(32) + 'ff'))).toBe('bad-utf8') // past the short-text path
  })

  it('rejects a map where a term is expected', () => {
    expect(reasonOf(h('a1 61 61 01'))).toBe('bad-shape')
    expect(reasonOf(h('d81b 82 61 66 a0'))).toBe('bad-shape')
  })

  it('rejects simple values and byte strings outside bignums', () => {
    for (const bytes of ['f4', 'f5', 'f6', 'f7', 'e0', 'f8 20', '41 00']) expect(reasonOf(h(bytes))).toBe('bad-shape')
  })

  it('rejects compounds without a text name', () => {
    for (const bytes of ['d81b 80', 'd81b 81 01', 'd81b 81 d827 61 66', 'd81b 01']) expect(reasonOf(h(bytes))).toBe('bad-shape')
  })

  it('rejects an atom that is not a text', () => {
    expect(reasonOf(h('d827 01'))).toBe('bad-shape')
  })

  it('rejects partial lists that are not in normal form', () => {
    expect(reasonOf(h('d9504c 81 01'))).toBe('bad-shape') // a tail and no item
    expect(reasonOf(h('d9504c 82 01 80'))).toBe('bad-shape') // tail []: the proper list [1]
    expect(reasonOf(h('d9504c 82 01 81 02'))).toBe('bad-shape') // tail [2]: the proper list [1, 2]
    expect(reasonOf(h('d9504c 82 01 d9504c 82 02 d95056 00'))).toBe('bad-shape') // [1|[2|X]] is [1, 2|X]
    expect(reasonOf(h('d9504c 82 01 d95056 00'))).toBe('accepted')
  })

  it('rejects variables that are not numbered by first appearance', () => {
    expect(reasonOf(h('d95056 01'))).toBe('bad-shape')
    expect(reasonOf(h('82 d95056 00 d95056 02'))).toBe('bad-shape')
    expect(reasonOf(h('d95056 20'))).toBe('bad-shape')
    expect(reasonOf(h('82 d95056 00 d95056 01'))).toBe('accepted')
  })

  it('rejects rationals that are not canonical or not integers', () => {
    for (const bytes of ['d81e 82 01 01', 'd81e 82 01 00', 'd81e 82 01 20', 'd81e 82 02 04', 'd81e 81 01', 'd81e 82 f93c00 03', 'd81e 01']) {
      expect(reasonOf(h(bytes))).toBe('bad-shape')
    }
  })

  it('rejects trailing bytes', () => {
    expect(reasonOf(h('01 01'))).toBe('trailing-bytes')
    expect(reasonOf(h('80 00'))).toBe('trailing-bytes')
  })

  it('accepts any head width and bignum padding (encoders write the shortest)', () => {
    expect(decodeTerm(h('1b 0000000000000001'))).toBe(1n)
    expect(decodeTerm(h('c2 43 000001'))).toBe(1n)
    expect(decodeTerm(h('c3 40'))).toBe(-1n)
    expect(decodeTerm(h('79 0001 61'))).toBe('a')
  })

  it('rejects random bytes with a typed error only, and never hangs', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => {
      reasonOf(bytes)
    }), { numRuns: 20_000 })
  })

  it('rejects mutated valid terms with a typed error only', () => {
    fc.assert(fc.property(termArbitrary, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (t, edits) => {
        const bytes = encodeTerm(t)
        for (const [at, value] of edits) bytes[at % bytes.length] = value
        reasonOf(bytes)
      }), { numRuns: 5_000 })
  })
})
