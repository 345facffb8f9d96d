/**
 * Size limits of the wire format, with their defaults in one place (docs/wire.md, "Limits").
 *
 * Decoders enforce them on untrusted bytes; encoders enforce the same values so that a peer never
 * emits what a peer with default limits refuses.
 */

export interface TermLimits {
  /** Encoded bytes of one term. @default 65_536 */
  readonly maxBytes: number
  /** Nesting of compounds and lists that have at least one argument or element. @default 1_000 */
  readonly maxDepth: number
  /** Term nodes: every atom, number, string, variable, compound, list and list element. @default 32_768 */
  readonly maxNodes: number
  /** UTF-8 bytes of one text: an atom, a string or a functor name. @default 32_768 */
  readonly maxTextBytes: number
  /** Magnitude bytes of one bignum (tag 2 / 3); 1,024 bytes is about 2,466 decimal digits. @default 1_024 */
  readonly maxBignumBytes: number
  /**
   * Magnitude bytes of each part of a rational. Lower than maxBignumBytes because checking that a
   * rational is reduced (gcd 1) costs time quadratic in its size. @default 256
   */
  readonly maxRationalBytes: number
}

export interface EventLimits extends TermLimits {
  /** Bytes of one event, counted as encoded alone (with its d9 d9 f7 prefix). @default 65_536 */
  readonly maxEventBytes: number
  /** Bytes of one batch. @default 1_048_576 */
  readonly maxBatchBytes: number
  /** Events in one batch. @default 4_096 */
  readonly maxBatchEvents: number
  /** UTF-8 bytes of the origin peer id (base58 Ed25519 peer ids are 52). @default 128 */
  readonly maxOriginBytes: number
  /** Clause ids in one retract event. @default 4_096 */
  readonly maxRetractIds: number
}

export const DEFAULT_TERM_LIMITS: Readonly<TermLimits> = Object.freeze({
  maxBytes: 65_536,
  maxDepth: 1_000,
  maxNodes: 32_768,
  maxTextBytes: 32_768,
  maxBignumBytes: 1_024,
  maxRationalBytes: 256
})

export const DEFAULT_EVENT_LIMITS: Readonly<EventLimits> = Object.freeze({
  ...DEFAULT_TERM_LIMITS,
  maxEventBytes: 65_536,
  maxBatchBytes: 1_048_576,
  maxBatchEvents: 4_096,
  maxOriginBytes: 128,
  maxRetractIds: 4_096
})

export function termLimits (overrides: Partial<TermLimits> = {}): TermLimits {
  return withDefaults(DEFAULT_TERM_LIMITS, overrides)
}

export function eventLimits (overrides: Partial<EventLimits> = {}): EventLimits {
  return withDefaults(DEFAULT_EVENT_LIMITS, overrides)
}

/**
 * Fills in defaults. Keys other than the defaults' are ignored (event limits may be passed where term
 * limits are expected); a value that is not a non-negative number would silently disable a check, so it throws.
 */
function withDefaults<L extends Readonly<Record<keyof L, number>>> (defaults: L, overrides: Partial<L>): L {
  const limits: Record<keyof L, number> = { ...defaults }
  for (const key of Object.keys(defaults) as Array<keyof L>) {
    const value: unknown = overrides[key]
    if (value === undefined) continue
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new TypeError(`wire limit '${String(key)}' must be a non-negative number, got ${String(value)}`)
    }
    limits[key] = value
  }
  return limits as L
}
