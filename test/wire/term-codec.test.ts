import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TermEncodingError } from '../../core/wire/errors.ts'
import { decodeTerm, encodeTerm } from '../../core/wire/term-codec.ts'
import { atom, compound, int, isCompound, variable } from '../../core/wire/term.ts'
import { floatArbitrary, integerArbitrary, termArbitrary } from '../arbitraries.ts'
import { diagnostic, hex } from './diagnostic.ts'
import type { Term } from '../../core/wire/term.ts'

const roundTrip = (t: Term): Term => decodeTerm(encodeTerm(t))
const diag = (t: Term): string => diagnostic(encodeTerm(t))

describe('term codec', () => {
  it('round-trips random terms', () => {
    fc.assert(fc.property(termArbitrary, t => {
      expect(roundTrip(t)).toStrictEqual(t)
    }), { numRuns: 3000 })
  })

  it('encodes to the canonical bytes: decode then encode gives the same bytes', () => {
    fc.assert(fc.property(termArbitrary, t => {
      const bytes = encodeTerm(t)
      expect(hex(encodeTerm(decodeTerm(bytes)))).toBe(hex(bytes))
    }), { numRuns: 1000 })
  })

  it('keeps integers and floats apart, also 1 and 1.0', () => {
    expect(roundTrip(int(1))).toBe(1n)
    expect(roundTrip(1.0)).toBe(1)
    expect(diag(int(1))).toBe('1')
    expect(diag(1.0)).toBe('1.0')
  })

  it('round-trips integers of any size, and floats bit for bit (-0.0, NaN, Infinity)', () => {
    fc.assert(fc.property(integerArbitrary, n => { expect(roundTrip(n)).toBe(n) }), { numRuns: 2000 })
    fc.assert(fc.property(floatArbitrary, x => { expect(Object.is(roundTrip(x), x)).toBe(true) }), { numRuns: 2000 })
  })

  it('writes integers in the shortest form and bignums beyond 64 bits without leading zeros', () => {
    expect(hex(encodeTerm(23n))).toBe('17')
    expect(hex(encodeTerm(24n))).toBe('1818')
    expect(hex(encodeTerm(-1n))).toBe('20')
    expect(hex(encodeTerm(2n ** 64n - 1n))).toBe('1bffffffffffffffff')
    expect(hex(encodeTerm(-(2n ** 64n)))).toBe('3bffffffffffffffff')
    expect(hex(encodeTerm(2n ** 64n))).toBe('c249010000000000000000')
    expect(hex(encodeTerm(-(2n ** 64n) - 1n))).toBe('c349010000000000000000')
  })

  it('writes the shortest float that holds the value exactly', () => {
    expect(hex(encodeTerm(21.5))).toBe('f94d60')
    expect(hex(encodeTerm(-0))).toBe('f98000')
    expect(hex(encodeTerm(NaN))).toBe('f97e00')
    expect(hex(encodeTerm(-Infinity))).toBe('f9fc00')
    expect(hex(encodeTerm(5.960464477539063e-8))).toBe('f90001') // smallest float16 subnormal
    expect(hex(encodeTerm(100000))).toBe('fa47c35000')
    expect(hex(encodeTerm(0.1))).toBe('fb3fb999999999999a')
  })

  it('reads float16, float32 and float64 whatever the value', () => {
    expect(decodeTerm(Uint8Array.of(0xfb, 0x40, 0x35, 0x80, 0, 0, 0, 0, 0))).toBe(21.5)
    expect(decodeTerm(Uint8Array.of(0xfa, 0x41, 0xac, 0, 0))).toBe(21.5)
    expect(decodeTerm(Uint8Array.of(0xf9, 0x4d, 0x60))).toBe(21.5)
  })

  it('keeps atoms, strings, the atom [] and the empty list apart', () => {
    expect(diag(atom('[]'))).toBe('39("[]")')
    expect(diag([])).toBe('[]')
    expect(diag('[]')).toBe('"[]"')
    expect(roundTrip(atom('[]'))).toStrictEqual(atom('[]'))
    expect(roundTrip([])).toStrictEqual([])
  })

  it('keeps a leading byte order mark and NUL in text', () => {
    expect(roundTrip('\ufeffx')).toBe('\ufeffx')
    expect(roundTrip(atom('a\u0000b'))).toStrictEqual(atom('a\u0000b'))
  })

  it('writes compounds as tag 27, zero-arity ones too', () => {
    expect(diag(compound('temperature', atom('kitchen'), 21.5))).toBe('27(["temperature", 39("kitchen"), 21.5])')
    expect(diag(compound('foo'))).toBe('27(["foo"])')
    expect(roundTrip(compound('foo'))).toStrictEqual(compound('foo'))
  })

  it('renumbers variables by first appearance, so =@= terms give identical bytes', () => {
    expect(diag(compound('f', variable(7), variable(3), variable(7)))).toBe('27(["f", 20566(0), 20566(1), 20566(0)])')
    fc.assert(fc.property(termArbitrary, fc.integer({ min: 1, max: 1000 }), (t, shift) => {
      expect(hex(encodeTerm(shiftVars(t, shift)))).toBe(hex(encodeTerm(t)))
    }), { numRuns: 500 })
  })

  it('shares one object per variable in a decoded term', () => {
    const decoded = roundTrip(compound('f', variable(0), variable(0)))
    expect(isCompound(decoded) && decoded.args[0] === decoded.args[1]).toBe(true)
  })

  it('normalises partial lists: nested ones join, a list tail makes a proper list', () => {
    const nested = { items: [atom('a')], tail: { items: [atom('b')], tail: variable(0) } }
    expect(diag(nested)).toBe('20556([39("a"), 39("b"), 20566(0)])')
    expect(roundTrip(nested)).toStrictEqual({ items: [atom('a'), atom('b')], tail: variable(0) })
    expect(roundTrip({ items: [atom('a')], tail: [atom('b')] })).toStrictEqual([atom('a'), atom('b')])
    expect(roundTrip({ items: [], tail: variable(0) })).toStrictEqual(variable(0))
    expect(diag({ items: [int(1)], tail: atom('b') })).toBe('20556([1, 39("b")])')
  })

  it('writes rationals as tag 30 with bignum parts when needed', () => {
    expect(diag({ numerator: 1n, denominator: 3n })).toBe('30([1, 3])')
    expect(diag({ numerator: -(2n ** 64n) - 1n, denominator: 3n })).toBe("30([3(h'010000000000000000'), 3])")
  })

  it('encodes a term nested 20,000 deep without recursion when the limits allow it', () => {
    const deep = nestedLists(20_000)
    const limits = { maxDepth: 30_000, maxNodes: 30_000 }
    const bytes = encodeTerm(deep, limits)
    expect(bytes.length).toBe(20_001)
    // (vitest's deep equality recurses, so the decoded term is compared by its bytes and its depth)
    const decoded = decodeTerm(bytes, limits)
    expect(hex(encodeTerm(decoded, limits))).toBe(hex(bytes))
    expect(depthOf(decoded)).toBe(20_000)
  })

  it('returns a fresh array each time', () => {
    const a = encodeTerm(atom('x'))
    const b = encodeTerm(atom('y'))
    expect(a.buffer).not.toBe(b.buffer)
    expect(a.byteLength).toBe(a.buffer.byteLength)
  })
})

describe('term encoding refuses', () => {
  const reasonOf = (value: unknown, limits = {}): string => {
    try {
      encodeTerm(value as Term, limits)
    } catch (err) {
      expect(err).toBeInstanceOf(TermEncodingError)
      expect(err).toHaveProperty('name', 'TermEncodingError')
      return (err as TermEncodingError).reason
    }
    return 'encoded'
  }

  it('refuses a cyclic structure through arguments, list elements or partial list tails', () => {
    const c: { functor: string, args: Term[] } = { functor: 'f', args: [] }
    c.args.push(c)
    const l: Term[] = []
    l.push(atom('a'), l)
    const p: { items: Term[], tail: Term } = { items: [atom('a')], tail: [] }
    p.tail = p
    const q: { items: Term[], tail: Term } = { items: [], tail: [] }
    q.tail = q
    expect([c, l, p, q].map(t => reasonOf(t))).toEqual(['cyclic', 'cyclic', 'cyclic', 'cyclic'])
  })

  it('accepts shared (acyclic) subterms', () => {
    const shared = compound('s', atom('x'))
    expect(roundTrip(compound('f', shared, shared))).toStrictEqual(compound('f', compound('s', atom('x')), compound('s', atom('x'))))
  })

  it('refuses values outside the model', () => {
    const outside = [null, undefined, true, Symbol('s'), () => 1, { foo: 1 }, { atom: 1 }, { functor: 'f', args: 'x' },
      { var: -1 }, { var: 1.5 }, { numerator: 1n, denominator: 1n }, { numerator: 2n, denominator: 4n },
      { numerator: 1, denominator: 3 }, 'lone \ud800 surrogate', 'x'.repeat(70) + '\udc00']
    for (const value of outside) expect(reasonOf(value)).toBe('not-a-term')
  })

  it('refuses what decoders with the same limits would refuse', () => {
    expect(reasonOf(nestedLists(1_001))).toBe('too-deep')
    expect(reasonOf(Array.from({ length: 40_000 }, () => 1n))).toBe('too-many-nodes')
    expect(reasonOf('x'.repeat(40_000))).toBe('text-too-long')
    expect(reasonOf(2n ** 9000n)).toBe('bignum-too-large')
    expect(reasonOf({ numerator: 1n, denominator: 2n ** 3000n })).toBe('bignum-too-large')
    expect(reasonOf(Array.from({ length: 3 }, () => 'x'.repeat(30_000)))).toBe('too-large')
  })

  it('stops early on a huge term shared by reference (a DAG), not after writing it', () => {
    const text = 'y'.repeat(30_000)
    const wide = Array.from({ length: 30_000 }, () => text)
    expect(reasonOf(wide)).toBe('too-large')
  })
})

function nestedLists (depth: number): Term {
  let t: Term = []
  for (let i = 0; i < depth; i++) t = [t]
  return t
}

function depthOf (t: Term): number {
  let depth = 0
  for (let x = t; Array.isArray(x) && x.length > 0; x = (x as readonly Term[])[0]) depth++
  return depth
}

function shiftVars (t: Term, shift: number): Term {
  const walk = (x: Term): Term => {
    if (typeof x !== 'object' || x === null) return x
    if (Array.isArray(x)) return (x as readonly Term[]).map(walk)
    if ('var' in x) return { var: x.var * 7 + shift }
    if ('functor' in x) return { functor: x.functor, args: x.args.map(walk) }
    if ('items' in x) return { items: x.items.map(walk), tail: walk(x.tail) }
    return x
  }
  return walk(t)
}
