/**
 * The engine's defaults and limits, in one place. Each is documented where it is used as
 * `@default`; docs/LIMITS.md lists them for operators.
 */

/** Inferences one answer of a sandboxed goal may take (call_with_inference_limit/3). */
export const DEFAULT_INFERENCE_LIMIT = 10_000_000

/** Wall-clock milliseconds one answer of a sandboxed goal may take. */
export const DEFAULT_TIMEOUT_MS = 5_000

/**
 * Nesting of compounds and lists (with at least one argument or element) a term may have when it
 * crosses between Prolog and JavaScript; the same rule and value as the wire's `maxDepth`.
 */
export const DEFAULT_MAX_DEPTH = 1_000

/**
 * After a stop is asked, milliseconds the worker has to confirm it before it is terminated and
 * replaced (a long foreign call, such as a huge bignum power, never reaches a heartbeat).
 */
export const STOP_GRACE_MS = 500

/** Inferences between two heartbeats, where a running goal may be paused, switched or stopped. */
export const HEARTBEAT_INFERENCES = 10_000

/**
 * Milliseconds a goal runs before the worker returns to its event loop, so that stop requests and
 * other queries are served while it computes.
 */
export const TIME_SLICE_MS = 10

/** UTF-8 bytes of one udp_broadcast datagram text; UDP carries at most 65,507 anyway. */
export const MAX_UDP_TEXT_BYTES = 65_536

/** The line every SWI-Prolog library(udp_broadcast) datagram starts with (udp_term_string/3). */
export const UDP_PREFIX = '%-prolog-\n'

/**
 * Deepest bracket nesting of text that SWI-Prolog is asked to read (datagrams, text queries,
 * consulted programs). Its reader recurses in C, and the WASM build's stack ends after about
 * 1,100 levels (measured: 1,000 reads, 1,200 crashes the worker), whatever `maxDepth` says.
 */
export const READER_NESTING_LIMIT = 1_000

/** Answers one network/1 call takes from the network, from all peers together; then it ends. */
export const MAX_NETWORK_ANSWERS = 10_000
