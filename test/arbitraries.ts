/**
 * fast-check arbitraries of the wire model, shared by the wire tests and the engine's round trip
 * through swipl-wasm: every term here is one SWI-Prolog can represent (no '[|]'/2 compounds, which
 * SWI reads as list cells; no lone surrogates, which have no UTF-8 form), and its variables are
 * numbered canonically (0, 1, 2, ... by first appearance, depth-first, left to right).
 */
import fc from 'fast-check'
import type { WireEvent } from '../core/wire/event.ts'
import type { Term } from '../core/wire/term.ts'

const specialTexts = ['', '[]', '{}', "it's", '"quoted"', 'a\\b', 'hé', '日本語', '😀', 'a\u0000b', '\ufeffbom', 'Capital', '_x', ' ']

/** Texts for atoms and strings: special cases, ASCII, and any code point (1 to 4 UTF-8 bytes). */
export const textArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...specialTexts),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', minLength: 17, maxLength: 40 }) // past the short-text paths of the codec
)

const functorArbitrary = fc.oneof(
  fc.constantFrom(',', '-', '+', ';', ':-', '=', '.', '{}', '[]', 'f', 'point', '$VAR'),
  textArbitrary
)

const boundaryIntegers = [0n, 1n, -1n, 23n, 24n, -24n, -25n, 255n, 256n, 65535n, 65536n, 2n ** 32n - 1n, 2n ** 32n,
  2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 64n), -(2n ** 64n) - 1n, 2n ** 200n, -(3n ** 150n)]

export const integerArbitrary: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(...boundaryIntegers),
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.bigInt({ min: -(2n ** 600n), max: 2n ** 600n })
)

export const floatArbitrary: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(1.0, -0, 0, NaN, Infinity, -Infinity, 21.5, 0.1, 65504, 65520, 5.960464477539063e-8, 1e300,
    Number.MIN_VALUE, Number.MAX_VALUE, 100000),
  fc.double(),
  fc.float().map(Math.fround) // values float32 holds, so the f32 form is exercised
)

export const rationalArbitrary = fc.tuple(fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }), fc.bigInt({ min: 2n, max: 2n ** 80n }))
  .map(([n, d]) => reduce(n, d))
  .filter(r => r.denominator > 1n)

const variableArbitrary = fc.nat({ max: 3 }).map(n => ({ var: n }))

const atomicArbitrary: fc.Arbitrary<Term> = fc.oneof(
  textArbitrary.map(name => ({ atom: name })),
  textArbitrary,
  integerArbitrary,
  floatArbitrary,
  rationalArbitrary,
  variableArbitrary
)

const { term } = fc.letrec<{ term: Term, compound: Term, list: Term, partialList: Term }>(tie => ({
  term: fc.oneof({ depthSize: 'small', withCrossShrink: true }, atomicArbitrary, tie('compound'), tie('list'), tie('partialList')),
  compound: fc.tuple(functorArbitrary, fc.array(tie('term'), { maxLength: 4 }))
    .filter(([functor, args]) => !(functor === '[|]' && args.length === 2))
    .map(([functor, args]) => ({ functor, args })),
  list: fc.array(tie('term'), { maxLength: 5 }),
  // Tails that are not lists: mostly variables, as in Prolog; [a|b] and [a|f(x)] are terms too.
  partialList: fc.tuple(fc.array(tie('term'), { minLength: 1, maxLength: 4 }), fc.oneof(variableArbitrary, atomicArbitrary, tie('compound')))
    .map(([items, tail]) => ({ items, tail }))
}))

/** Random terms of the whole model, variables numbered canonically. */
export const termArbitrary: fc.Arbitrary<Term> = term.map(canonicalVars)

/** The term with its variables renumbered 0, 1, 2, ... in order of first appearance. */
export function canonicalVars (t: Term): Term {
  const numbers = new Map<number, number>()
  const walk = (x: Term): Term => {
    if (typeof x !== 'object' || x === null) return x
    if (Array.isArray(x)) return (x as readonly Term[]).map(walk)
    if ('var' in x) {
      if (!numbers.has(x.var)) numbers.set(x.var, numbers.size)
      return { var: numbers.get(x.var) as number }
    }
    if ('functor' in x) return { functor: x.functor, args: x.args.map(walk) }
    if ('items' in x) {
      const items = x.items.map(walk)
      return { items, tail: walk(x.tail) }
    }
    return x
  }
  return walk(t)
}

const eventIdArbitrary = fc.uint8Array({ minLength: 16, maxLength: 16 })
// Plain objects (fast-check makes null-prototype ones by default), as decoders and structured clone give.
const plain = { noNullPrototype: true }
const hlcArbitrary = fc.record({ wall: fc.oneof(fc.nat(), fc.constant(1_732_380_000_000), fc.maxSafeNat()), counter: fc.nat() }, plain)
const originArbitrary = fc.oneof(fc.constant('12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'), fc.string({ minLength: 1, maxLength: 40 }))
const base = { id: eventIdArbitrary, hlc: hlcArbitrary, origin: originArbitrary }
// Small, at the one-byte head boundaries, past 2^32 (a uint64 head) and the largest allowed.
const seqArbitrary = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(23, 24, 255, 256, 2 ** 32), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }))

/** Random events of every kind. */
export const wireEventArbitrary: fc.Arbitrary<WireEvent> = fc.oneof(
  fc.record({ kind: fc.constant('message' as const), ...base, term: termArbitrary }, plain),
  fc.record({ kind: fc.constant('request' as const), ...base, term: termArbitrary, timeout: fc.nat() }, plain),
  fc.record({ kind: fc.constant('reply' as const), ...base, request: eventIdArbitrary, term: termArbitrary }, plain),
  fc.record({ kind: fc.constant('query' as const), ...base, goal: termArbitrary, timeout: fc.nat(), limit: fc.nat() }, plain),
  fc.record({ kind: fc.constant('cancel' as const), ...base, request: eventIdArbitrary }, plain),
  fc.record({ kind: fc.constant('assert' as const), ...base, seq: seqArbitrary, clause: termArbitrary, front: fc.boolean() }, plain),
  fc.record({ kind: fc.constant('retract' as const), ...base, seq: seqArbitrary, ids: fc.array(eventIdArbitrary, { minLength: 1, maxLength: 5 }) }, plain)
)

function reduce (numerator: bigint, denominator: bigint): { numerator: bigint, denominator: bigint } {
  let a = numerator < 0n ? -numerator : numerator
  let b = denominator
  while (b !== 0n) [a, b] = [b, a % b]
  return { numerator: numerator / a, denominator: denominator / a }
}
