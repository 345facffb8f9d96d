/**
 * Checks a JavaScript value against the term model before anything is built in Prolog: in the
 * model, canonical (one form per Prolog term), and within the depth limit. Iterative, so that a
 * value nested 20,000 deep (or a cyclic structure) gives TermConversionError, not a stack overflow.
 */
import { TermConversionError } from './errors.ts'
import type { Rational, Term } from '../wire/term.ts'

const LONE_SURROGATE = /\p{Cs}/u

/**
 * Checks that `term` is in the model, canonical and within `maxDepth`, without recursion.
 * @returns the variable numbers it uses, in order of first appearance
 */
export function checkTerm (term: Term, maxDepth: number): number[] {
  const seen = new Set<number>()
  const stack: Array<{ value: unknown, depth: number }> = [{ value: term, depth: 0 }]
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown, depth: number }
    const children = childrenOf(value, seen)
    if (children.length === 0) continue
    if (depth + 1 > maxDepth) throw new TermConversionError('too-deep', `the term is nested more than ${maxDepth} deep`)
    for (let i = children.length - 1; i >= 0; i--) stack.push({ value: children[i], depth: depth + 1 })
  }
  return [...seen]
}

/** Validates one node; returns its sub-terms (none for atomic terms). */
function childrenOf (value: unknown, vars: Set<number>): readonly unknown[] {
  switch (typeof value) {
    case 'string': checkText(value); return []
    case 'number': case 'bigint': return []
  }
  if (Array.isArray(value)) return value
  if (typeof value !== 'object' || value === null) throw notATerm(value)
  const node = value as Record<string, unknown>
  if ('var' in node) return checkVar(node.var, vars)
  if ('atom' in node) return checkAtom(node.atom)
  if ('functor' in node) return checkCompound(node.functor, node.args)
  if ('items' in node) return checkPartialList(node.items, node.tail)
  if ('numerator' in node) return checkRational(node as unknown as Rational)
  throw notATerm(value)
}

function checkVar (n: unknown, vars: Set<number>): [] {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw notATerm({ var: n })
  vars.add(n)
  return []
}

function checkAtom (name: unknown): [] {
  if (typeof name !== 'string') throw notATerm({ atom: name })
  checkText(name)
  return []
}

function checkCompound (functor: unknown, args: unknown): readonly unknown[] {
  if (typeof functor !== 'string' || !Array.isArray(args)) throw notATerm({ functor, args })
  checkText(functor)
  if (functor === '[|]' && args.length === 2) {
    throw new TermConversionError('non-canonical', "'[|]'(H, T) is a list cell: write it as a list")
  }
  return args
}

function checkPartialList (items: unknown, tail: unknown): readonly unknown[] {
  if (!Array.isArray(items)) throw notATerm({ items, tail })
  if (items.length === 0 || Array.isArray(tail) || (typeof tail === 'object' && tail !== null && 'items' in tail)) {
    throw new TermConversionError('non-canonical', 'a partial list needs items and a tail that is not a list')
  }
  return [...items, tail]
}

function checkRational (r: Rational): [] {
  const { numerator, denominator } = r
  if (typeof numerator !== 'bigint' || typeof denominator !== 'bigint') throw notATerm(r)
  if (denominator <= 1n || gcd(numerator, denominator) !== 1n) {
    throw new TermConversionError('non-canonical', `${numerator}r${denominator} is not a reduced rational with a denominator above 1`)
  }
  return []
}

function checkText (text: string): void {
  if (LONE_SURROGATE.test(text)) throw new TermConversionError('bad-text', 'text with a lone surrogate has no Prolog form')
}

function gcd (a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a
  let y = b
  while (y !== 0n) [x, y] = [y, x % y]
  return x
}

function notATerm (value: unknown): TermConversionError {
  const shown = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value, (_k, v: unknown) => typeof v === 'bigint' ? `${v}n` : v) ?? String(value))
  return new TermConversionError('not-a-term', `not a term: ${shown.slice(0, 80)}`)
}
