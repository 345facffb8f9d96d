/**
 * The wire layer's errors.
 *
 * Matched by `err.name` (survives bundling and the worker boundary) and told apart by `reason`, a
 * short code that upper layers use as a metric label when they count and reject input.
 */

/** Why a term's bytes were refused; see docs/wire.md, "Limits" and "Rejection". */
export type TermRejectReason =
  | 'too-large'        // more bytes than maxBytes
  | 'too-deep'         // more nesting than maxDepth
  | 'too-many-nodes'   // more term nodes than maxNodes
  | 'text-too-long'    // a text string over maxTextBytes
  | 'bignum-too-large' // a bignum over maxBignumBytes
  | 'truncated'        // the bytes end inside a data item
  | 'malformed'        // not well-formed CBOR, or CBOR this profile leaves out (indefinite lengths)
  | 'unknown-tag'      // a tag the term grammar does not have
  | 'bad-utf8'         // a text string that is not UTF-8
  | 'bad-shape'        // well-formed CBOR that is not a term (maps, null, a bad partial list, ...)
  | 'trailing-bytes'   // bytes left over after the term

/** Why an event or batch was refused: a term reason (for its term or envelope) or one of its own. */
export type EventRejectReason =
  | TermRejectReason
  | 'not-cbor'         // does not start with the self-described CBOR tag (d9 d9 f7)
  | 'bad-version'      // "v" missing or not 1
  | 'unknown-kind'     // "k" is not a kind this version knows
  | 'bad-field'        // a field missing, extra or of the wrong type, length or range
  | 'too-many-events'  // a batch with more than maxBatchEvents events

/** Why a term could not be encoded. */
export type TermEncodingReason =
  | 'cyclic'           // the JS structure refers to itself
  | 'not-a-term'       // a value outside the term model (see term.ts)
  | 'too-large'
  | 'too-deep'
  | 'too-many-nodes'
  | 'text-too-long'
  | 'bignum-too-large'

/** Why an event or batch could not be encoded. */
export type EventEncodingReason = TermEncodingReason | 'bad-field' | 'too-many-events'

/** Bytes that are not a valid term under the given limits. */
export class InvalidTermError extends Error {
  static override name = 'InvalidTermError'
  readonly reason: TermRejectReason

  constructor (reason: TermRejectReason, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidTermError'
    this.reason = reason
  }
}

/** Bytes that are not a valid event or batch; a batch is refused whole. */
export class InvalidEventError extends Error {
  static override name = 'InvalidEventError'
  readonly reason: EventRejectReason

  constructor (reason: EventRejectReason, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'InvalidEventError'
    this.reason = reason
  }
}

/** A JS value that cannot be encoded as a term (cyclic, outside the model, over a limit). */
export class TermEncodingError extends Error {
  static override name = 'TermEncodingError'
  readonly reason: TermEncodingReason

  constructor (reason: TermEncodingReason, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'TermEncodingError'
    this.reason = reason
  }
}

/** An event or batch that cannot be encoded, or whose encoding every default decoder would refuse. */
export class EventEncodingError extends Error {
  static override name = 'EventEncodingError'
  readonly reason: EventEncodingReason

  constructor (reason: EventEncodingReason, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'EventEncodingError'
    this.reason = reason
  }
}
