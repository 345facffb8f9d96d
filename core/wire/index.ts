/**
 * @packageDocumentation
 *
 * The wire layer: Prolog terms and events as CBOR, validated and size-limited, with no I/O (it
 * runs in Node and in browsers). `docs/wire.md` is the contract this implements.
 *
 * - Terms: {@link encodeTerm} / {@link decodeTerm}, lossless for the model of `term.ts`
 *   (atoms vs strings, integers of any size, floats incl. -0.0 and NaN, rationals, compounds of
 *   any arity, proper and partial lists, shared variables).
 * - Events: {@link encodeEvent} / {@link decodeEvent}; batches, one per gossipsub message:
 *   {@link encodeBatch} / {@link encodeBatches} / {@link decodeBatch}.
 * - Every decoder takes untrusted bytes and throws only {@link InvalidTermError} or
 *   {@link InvalidEventError}, whose `reason` names the rule that was broken. Limits default to
 *   {@link DEFAULT_EVENT_LIMITS}.
 *
 * @example
 * ```ts
 * import { atom, compound, decodeBatch, encodeBatch, newEventId } from './core/wire/index.ts'
 * import type { WireEvent } from './core/wire/index.ts'
 *
 * const event: WireEvent = {
 *   kind: 'message',
 *   id: newEventId(),
 *   hlc: { wall: Date.now(), counter: 0 },
 *   origin: '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq',
 *   term: compound('temperature', atom('kitchen'), 21.5)
 * }
 * const bytes = encodeBatch([event])           // 55799([{"v": 1, "k": "message", ...}])
 * try {
 *   const [received] = decodeBatch(bytes)      // validated WireEvent[]
 * } catch (err) {
 *   // err.name === 'InvalidEventError'; count err.reason, drop the message
 * }
 * ```
 */

export {
  atom, compound, int, variable, isAtom, isCompound, isList, isPartialList, isRational, isVar
} from './term.ts'
export type { Atom, Compound, PartialList, Rational, Term, Var } from './term.ts'
export { encodeTerm, decodeTerm } from './term-codec.ts'
export {
  newEventId, isCborPayload, isKbEvent, eventIdHex, encodeEvent, decodeEvent, encodeBatch, encodeBatches, decodeBatch
} from './event.ts'
export type {
  EventId, Hlc, MessageEvent, RequestEvent, ReplyEvent, AssertEvent, RetractEvent, KbEvent, WireEvent
} from './event.ts'
export { DEFAULT_TERM_LIMITS, DEFAULT_EVENT_LIMITS } from './limits.ts'
export type { TermLimits, EventLimits } from './limits.ts'
export { InvalidTermError, InvalidEventError, TermEncodingError, EventEncodingError } from './errors.ts'
export type { TermRejectReason, EventRejectReason, TermEncodingReason, EventEncodingReason } from './errors.ts'
