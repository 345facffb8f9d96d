/**
 * Prolog terms <-> CBOR, losslessly (docs/wire.md, "Terms").
 *
 * cbor-x cannot carry terms: it decodes the integer 1 and the float 1.0 both to the number 1, and
 * it recurses, so a deeply nested term overflows the stack. This codec knows only terms, never
 * recurses on input depth, and enforces the limits of limits.ts on both sides.
 */
import { InvalidTermError, TermEncodingError } from './errors.ts'
import { termLimits } from './limits.ts'
import { readTerm } from './term-decoder.ts'
import { writeTerm } from './term-encoder.ts'
import type { TermLimits } from './limits.ts'
import type { Term } from './term.ts'

/**
 * The canonical bytes of a term: terms equal up to variable renaming (=@=) give identical bytes.
 * Limits default to the decoders' defaults, so what encodes also decodes.
 *
 * @throws TermEncodingError 'cyclic', 'not-a-term' or a limit's reason
 */
export function encodeTerm (term: Term, limits?: Partial<TermLimits>): Uint8Array {
  return encodeTermWithin(term, termLimits(limits))
}

/** encodeTerm with limits already resolved (the event codec resolves them once per call, not per term). */
export function encodeTermWithin (term: Term, resolved: TermLimits): Uint8Array {
  try {
    return writeTerm(term, resolved)
  } catch (err) {
    if (err instanceof TermEncodingError) throw err
    // A getter or proxy in a hostile "term" can throw anything; the caller still gets the typed error.
    throw new TermEncodingError('not-a-term', `the value could not be read as a term: ${String(err)}`, { cause: err })
  }
}

/**
 * Decodes one term from untrusted bytes (all of them: trailing bytes are refused).
 *
 * @throws InvalidTermError with a `reason`, and nothing else
 */
export function decodeTerm (bytes: Uint8Array, limits?: Partial<TermLimits>): Term {
  return decodeTermWithin(bytes, termLimits(limits))
}

/** decodeTerm with limits already resolved. */
export function decodeTermWithin (bytes: Uint8Array, resolved: TermLimits): Term {
  try {
    return readTerm(bytes, resolved)
  } catch (err) {
    if (err instanceof InvalidTermError) throw err
    // Not expected (every check above throws InvalidTermError); kept so that no input can crash a peer.
    throw new InvalidTermError('malformed', `undecodable term: ${String(err)}`, { cause: err })
  }
}
