/**
 * Prolog terms as plain JavaScript data.
 *
 * The model is exact: every SWI-Prolog term that can travel (no blobs, no dicts, no cycles) has
 * exactly one representation, so a term survives Prolog -> JS -> CBOR -> JS -> Prolog unchanged
 * (compared with `=@=`). It is plain data (no classes) so that it crosses `postMessage` between an
 * engine worker and its host by structured clone.
 *
 * | Prolog                  | JavaScript                                   |
 * |-------------------------|----------------------------------------------|
 * | atom `foo`, `'[]'`      | `{ atom: 'foo' }`                            |
 * | string `"text"`         | `'text'`                                     |
 * | integer (any size)      | `bigint`                                     |
 * | float                   | `number` (always a float, also `1.0`)        |
 * | rational `1r3`          | `{ numerator: 1n, denominator: 3n }`         |
 * | compound `f(a, X)`      | `{ functor: 'f', args: [...] }` (also `f()`) |
 * | proper list `[a, b]`    | `Term[]`, `[]` is the empty list             |
 * | partial list `[a|T]`    | `{ items: [...], tail: Term }`               |
 * | variable                | `{ var: n }`, n numbers variables in order of first appearance |
 *
 * @example
 * ```ts
 * import { atom, compound, int } from './term.ts'
 * const t = compound('temperature', atom('kitchen'), 21.5)   // temperature(kitchen, 21.5)
 * const n = compound('number', int(3))                        // number(3)
 * ```
 */

export interface Atom { readonly atom: string }
export interface Rational { readonly numerator: bigint, readonly denominator: bigint }
export interface Compound { readonly functor: string, readonly args: readonly Term[] }
export interface PartialList { readonly items: readonly Term[], readonly tail: Term }
export interface Var { readonly var: number }

export type Term =
  | Atom
  | string
  | bigint
  | number
  | Rational
  | Compound
  | readonly Term[]
  | PartialList
  | Var

export function atom (name: string): Atom {
  return { atom: name }
}

export function compound (functor: string, ...args: Term[]): Compound {
  return { functor, args }
}

/** An integer term; JS numbers are floats in this model, so integers are made explicit. */
export function int (value: number | bigint): bigint {
  return BigInt(value)
}

export function variable (n: number): Var {
  return { var: n }
}

export function isAtom (t: Term, name?: string): t is Atom {
  return typeof t === 'object' && t !== null && 'atom' in t && (name === undefined || t.atom === name)
}

export function isCompound (t: Term, functor?: string, arity?: number): t is Compound {
  return typeof t === 'object' && t !== null && 'functor' in t &&
    (functor === undefined || t.functor === functor) &&
    (arity === undefined || t.args.length === arity)
}

export function isVar (t: Term): t is Var {
  return typeof t === 'object' && t !== null && 'var' in t
}

export function isPartialList (t: Term): t is PartialList {
  return typeof t === 'object' && t !== null && 'items' in t && 'tail' in t
}

export function isRational (t: Term): t is Rational {
  return typeof t === 'object' && t !== null && 'numerator' in t
}

export function isList (t: Term): t is readonly Term[] {
  return Array.isArray(t)
}

const SAFE_INTEGER_LIMIT = 2n ** 53n

/** Greatest common divisor of the magnitudes (a rational is canonical when gcd(numerator, denominator) = 1). */
export function gcd (a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a
  if (b < 0n) b = -b
  while (b >= SAFE_INTEGER_LIMIT) {
    const rest = a % b
    a = b
    b = rest
  }
  if (b === 0n) return a
  // Once the smaller value fits a double exactly, the remaining steps run on numbers: far cheaper than bigints.
  let x = Number(a % b)
  let y = Number(b)
  while (x !== 0) {
    const rest = y % x
    y = x
    x = rest
  }
  return BigInt(y)
}

/**
 * Terms side by side in one goal: each term numbers its variables from 0, so the variables of
 * the second and later terms are moved past those of the ones before, keeping them apart.
 * Returns the terms and the first variable number none of them uses.
 */
export function apartVariables (terms: readonly Term[]): { terms: Term[], next: number } {
  let next = 0
  const moved = terms.map((term) => {
    const offset = next
    const shifted = mapVariables(term, (n) => {
      next = Math.max(next, offset + n + 1)
      return offset + n
    })
    return shifted
  })
  return { terms: moved, next }
}

function mapVariables (term: Term, map: (n: number) => number): Term {
  if (typeof term !== 'object') return term
  if (Array.isArray(term)) return term.map(t => mapVariables(t, map))
  if (isVar(term)) return variable(map(term.var))
  if (isCompound(term)) return { functor: term.functor, args: term.args.map(t => mapVariables(t, map)) }
  if (isPartialList(term)) return { items: term.items.map(t => mapVariables(t, map)), tail: mapVariables(term.tail, map) }
  return term
}
