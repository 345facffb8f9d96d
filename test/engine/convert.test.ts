/**
 * The converter (core/engine/convert.ts) against the real swipl-wasm, in this process: random
 * terms survive JavaScript -> Prolog -> JavaScript, and inside Prolog they survive writing and
 * reading (=@=), also after a trip through the CBOR codec of core/wire.
 */
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { decodeTerm, encodeTerm } from '../../core/wire/term-codec.ts'
import { atom, compound, int, variable } from '../../core/wire/term.ts'
import { termArbitrary } from '../arbitraries.ts'
import { loadDirectProlog } from './swipl-direct.ts'
import type { DirectProlog } from './swipl-direct.ts'
import type { Term } from '../../core/wire/term.ts'

let prolog: DirectProlog

beforeAll(async () => {
  prolog = await loadDirectProlog()
  prolog.call(`assertz((written_and_read(T) :- format(string(S), '~k', [T]), term_string(T2, S), T =@= T2))`)
  prolog.call('assertz((variant(A, B) :- A =@= B))')
  prolog.call('assertz((deep(T) :- numlist(1, 20000, L), foldl([_, A, [A]]>>true, L, x, T)))')
  prolog.call('assertz((cyclic(X) :- X = f(X)))')
  prolog.call('assertz((blob(X) :- current_output(X)))')
  prolog.call('assertz((dict(X) :- dict_create(X, tag, [a-1])))')
  prolog.call('assertz((atom_count(N) :- garbage_collect_atoms, statistics(atoms, N)))')
})

function nested (depth: number, wrap: (inner: Term) => Term): Term {
  let t: Term = atom('x')
  for (let i = 0; i < depth; i++) t = wrap(t)
  return t
}

function conversionError (fn: () => unknown): { name: string, reason: string } {
  try {
    fn()
  } catch (err) {
    return err as { name: string, reason: string }
  }
  throw new Error('no error')
}

describe('JavaScript -> Prolog -> JavaScript', () => {
  it('keeps every term of the model (5,000 random terms)', () => {
    fc.assert(fc.property(termArbitrary, term => {
      expect(prolog.roundTrip(term)).toStrictEqual(term)
    }), { numRuns: 5_000 })
  })

  it.each<[string, Term]>([
    ['atom vs string', [atom('abc'), 'abc']],
    ["'[]' vs []", [atom('[]'), []]],
    ['zero-arity compound vs atom', [compound('f'), atom('f')]],
    ['1.0 stays a float, 1 an integer', [1.0, int(1)]],
    ['-0.0, inf, -inf, nan', [-0, Infinity, -Infinity, NaN]],
    ['big integers', [2n ** 64n, -(2n ** 63n), 2n ** 63n - 1n, -(10n ** 300n)]],
    ['rationals', [{ numerator: 1n, denominator: 3n }, { numerator: -(2n ** 70n), denominator: 3n }]],
    ['partial lists', [{ items: [atom('a')], tail: variable(0) }, { items: [int(1), int(2)], tail: atom('b') }]],
    ['shared variables', compound('f', variable(0), variable(1), variable(0), [variable(1)])],
    ['texts with NUL, U+FFFD and astral characters', [atom('a\u0000b'), 'x\ufffdy', '😀', atom('')]]
  ])('%s', (_name, term) => {
    expect(prolog.roundTrip(term)).toStrictEqual(term)
  })

  it('numbers variables by first appearance', () => {
    expect(prolog.roundTrip(compound('f', variable(7), variable(3), variable(7)))).toStrictEqual(compound('f', variable(0), variable(1), variable(0)))
  })
})

const BIDI_OVERRIDE = /[\u202a-\u202e\u2066-\u2069]/

describe('inside Prolog', () => {
  it('random terms are read back from their canonical text as variants (2,000 terms)', () => {
    fc.assert(fc.property(termArbitrary, term => {
      // SWI-Prolog 10 writes bidi override characters as they are but its reader refuses them
      // unescaped (syntax_error(bidi_override(_))): a property of SWI-Prolog, not of convert.ts.
      fc.pre(!BIDI_OVERRIDE.test(JSON.stringify(term, (_k, v: unknown) => typeof v === 'bigint' ? 0 : v)))
      expect(prolog.callWith('written_and_read', term)).toBe(true)
    }), { numRuns: 2_000 })
  })

  it('the check can fail: f(X, Y) is no variant of f(X, X), nor 1 of 1.0', () => {
    expect(prolog.callWith('variant', compound('f', variable(0), variable(1)), compound('f', variable(0), variable(0)))).toBe(false)
    expect(prolog.callWith('variant', int(1), 1.0)).toBe(false)
  })

  it('a term through CBOR is a variant of the original (2,000 terms)', () => {
    fc.assert(fc.property(termArbitrary, term => {
      const viaCbor = decodeTerm(encodeTerm(term))
      expect(prolog.callWith('variant', viaCbor, term)).toBe(true)
    }), { numRuns: 2_000 })
  })

  it.each([
    ['f(X, Y, X)', compound('f', variable(0), variable(1), variable(0))],
    ["['[]', [], '{}', {a}, f()]", [atom('[]'), [], atom('{}'), compound('{}', atom('a')), compound('f')]],
    ['[a|T]', { items: [atom('a')], tail: variable(0) }],
    ['"text"', 'text'],
    ['X is 1r3', compound('is', variable(0), { numerator: 1n, denominator: 3n })],
    ['- 1', compound('-', int(1))],
    ['-1', int(-1)]
  ])('reads %s', (text, term) => {
    expect(prolog.read(text)).toStrictEqual(term)
  })
})

describe('refusals', () => {
  it('a list nested 20,000 deep, both ways', () => {
    const deep = nested(20_000, t => [t])
    expect(conversionError(() => prolog.roundTrip(deep))).toMatchObject({ name: 'TermConversionError', reason: 'too-deep' })
    expect(conversionError(() => prolog.valueOf('deep'))).toMatchObject({ name: 'TermConversionError', reason: 'too-deep' })
  })

  it('depth 1,000 passes, 1,001 does not', () => {
    expect(() => prolog.roundTrip(nested(1_000, t => compound('f', t)))).not.toThrow()
    expect(conversionError(() => prolog.roundTrip(nested(1_001, t => compound('f', t))))).toMatchObject({ reason: 'too-deep' })
  })

  it.each<[string, unknown, string]>([
    ['a lone surrogate', atom('\ud800'), 'bad-text'],
    ["'[|]'(H, T), which Prolog reads as a list", compound('[|]', int(1), []), 'non-canonical'],
    ['a partial list without items', { items: [], tail: variable(0) }, 'non-canonical'],
    ['a partial list with a list tail', { items: [int(1)], tail: [int(2)] }, 'non-canonical'],
    ['an unreduced rational', { numerator: 2n, denominator: 4n }, 'non-canonical'],
    ['a rational with denominator 1', { numerator: 2n, denominator: 1n }, 'non-canonical'],
    ['null', null, 'not-a-term'],
    ['a boolean', true, 'not-a-term'],
    ['a negative variable number', { var: -1 }, 'not-a-term']
  ])('refuses %s', (_name, value, reason) => {
    expect(conversionError(() => prolog.roundTrip(value as Term))).toMatchObject({ name: 'TermConversionError', reason })
  })

  it.each([
    ['a cyclic term', 'cyclic'],
    ['a stream', 'blob'],
    ['a dict', 'dict']
  ])('refuses %s from Prolog', (_name, reason) => {
    expect(conversionError(() => prolog.valueOf(reason))).toMatchObject({ name: 'TermConversionError', reason })
  })
})

describe('the atom table', () => {
  it('does not keep the atoms that conversions made', () => {
    const before = Number(prolog.valueOf('atom_count'))
    for (let i = 0; i < 20_000; i++) prolog.roundTrip([atom(`leak_test_${i}`), `string_${i}`])
    expect(Number(prolog.valueOf('atom_count')) - before).toBeLessThan(1_000)
  })
})
