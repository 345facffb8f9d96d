/**
 * swipl-wasm loaded in the test process itself (no worker), for the converter's tests: they call
 * the C API directly and compare terms inside Prolog with =@=.
 */
import SWIPL from 'swipl-wasm/dist/swipl-node.js'
import { termConverter } from '../../core/engine/convert.ts'
import { asSwipl, inFrame, PL, predicate } from '../../core/engine/swipl.ts'
import type { TermConverter } from '../../core/engine/convert.ts'
import type { Swipl } from '../../core/engine/swipl.ts'
import type { Term } from '../../core/wire/term.ts'

export interface DirectProlog {
  readonly pl: Swipl
  readonly convert: TermConverter
  /** Runs a goal given as text, once, in module user. */
  call (goal: string): boolean
  /** Calls user:Name(T1, ..., Tn) with the terms put by the converter (each converted alone). */
  callWith (name: string, ...args: Term[]): boolean
  /** put then get, in a discarded frame. */
  roundTrip (term: Term): Term
  /** Reads Prolog text (term_string/2) and converts the term. */
  read (text: string): Term
  /** Calls user:Name(X) and converts X. */
  valueOf (name: string): Term
}

/** The part of swipl-wasm's own interface the tests use. */
interface PrologCall { prolog: { call: (goal: string) => boolean } }

export async function loadDirectProlog (maxDepth = 1_000): Promise<DirectProlog> {
  const module = await SWIPL({ arguments: ['-q'] })
  const pl = asSwipl(module)
  const convert = termConverter(pl, { maxDepth })
  const flags = PL.Q_NODEBUG | PL.Q_CATCH_EXCEPTION
  const callWith = (name: string, ...args: Term[]): boolean => inFrame(pl, () => {
    const av = pl._PL_new_term_refs(args.length)
    args.forEach((arg, i) => convert.put(av + i, arg))
    return pl._PL_call_predicate(0, flags, predicate(pl, 'user', name, args.length), av) !== 0
  })
  return {
    pl,
    convert,
    call: (goal) => (module as unknown as PrologCall).prolog.call(goal),
    callWith,
    roundTrip: (term) => inFrame(pl, () => {
      const t = pl._PL_new_term_ref()
      convert.put(t, term)
      return convert.get(t)
    }),
    valueOf: (name) => inFrame(pl, () => {
      const x = pl._PL_new_term_ref()
      if (pl._PL_call_predicate(0, flags, predicate(pl, 'user', name, 1), x) === 0) throw new Error(`${name}/1 failed`)
      return convert.get(x)
    }),
    read: (text) => inFrame(pl, () => {
      const av = pl._PL_new_term_refs(2)
      convert.put(av + 1, text)
      if (pl._PL_call_predicate(0, flags, predicate(pl, 'system', 'term_string', 2), av) === 0) throw new Error(`cannot read ${text}`)
      return convert.get(av)
    })
  }
}
