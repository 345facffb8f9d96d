/**
 * Events on the wire (docs/wire.md, "Events" and "Batches").
 *
 * An event is a CBOR map behind the self-described tag, `55799({"v": 1, "k": kind, ...})`; a batch,
 * the payload of one gossipsub message, is `55799([map, map, ...])` whose elements are byte for
 * byte the maps of the events alone. Terms travel as `24(<<term>>)`, decoded by the term codec.
 *
 * Decoding is all or nothing: a batch with one bad event is refused whole, with an
 * InvalidEventError whose `reason` can label a counter. Encoding applies the same limits, so a
 * peer does not emit what a peer with default limits refuses.
 */
import { headSize, writeHead, MAJOR_ARRAY, SELF_DESCRIBED_PREFIX } from './cbor.ts'
import { decodeGuarded, encodeMap, guardEventItem, hasPrefix, readHead, requirePrefix } from './envelope.ts'
import { EventEncodingError, InvalidEventError } from './errors.ts'
import { fromRaw, toRaw } from './event-schema.ts'
import { eventLimits } from './limits.ts'
import type { EventLimits } from './limits.ts'
import type { Term } from './term.ts'

/** 16 random bytes; also the gossipsub message id. */
export type EventId = Uint8Array

/** Hybrid logical clock: milliseconds since the epoch, and a counter for events within one millisecond. */
export interface Hlc { readonly wall: number, readonly counter: number }

interface EventBase {
  readonly id: EventId
  readonly hlc: Hlc
  /** The libp2p peer id (string form) of the peer that made the event. */
  readonly origin: string
}

/** broadcast/1 */
export interface MessageEvent extends EventBase { readonly kind: 'message', readonly term: Term }
/** broadcast_request/1; answers are collected for `timeout` milliseconds. */
export interface RequestEvent extends EventBase { readonly kind: 'request', readonly term: Term, readonly timeout: number }
/** One answer to the request or query with id `request`. */
export interface ReplyEvent extends EventBase { readonly kind: 'reply', readonly request: EventId, readonly term: Term }
/**
 * network(Goal): every peer runs `goal` sandboxed and replies with each instance of it, at most
 * `limit` of them, for at most `timeout` milliseconds.
 */
export interface QueryEvent extends EventBase { readonly kind: 'query', readonly goal: Term, readonly timeout: number, readonly limit: number }
/** The origin of the query with id `request` needs no more answers. */
export interface CancelEvent extends EventBase { readonly kind: 'cancel', readonly request: EventId }

/** The part of an assert or retract (a kb event) that lets replicas tell which events they are missing. */
interface KbEventBase extends EventBase {
  /**
   * The origin's kb events are numbered 1, 2, 3, ... with no gaps: a replica that holds 1..n of an
   * origin and sees n + 2 knows that n + 1 is missing.
   */
  readonly seq: number
}

/** A clause added to a shared predicate; `id` is the clause id; asserta when `front`. */
export interface AssertEvent extends KbEventBase { readonly kind: 'assert', readonly clause: Term, readonly front: boolean }
/** Removes the clauses with these ids, as observed by the origin (add-wins: concurrent asserts survive). */
export interface RetractEvent extends KbEventBase { readonly kind: 'retract', readonly ids: readonly EventId[] }

/** The events of shared knowledge, the ones a replica (core/kb) holds. */
export type KbEvent = AssertEvent | RetractEvent

export type WireEvent = MessageEvent | RequestEvent | ReplyEvent | QueryEvent | CancelEvent | KbEvent

export function isKbEvent (event: WireEvent): event is KbEvent {
  return event.kind === 'assert' || event.kind === 'retract'
}

export function newEventId (): EventId {
  return globalThis.crypto.getRandomValues(new Uint8Array(16))
}

/** True when `bytes` start with d9 d9 f7, the self-described CBOR tag that every event and batch starts with. */
export function isCborPayload (bytes: Uint8Array): boolean {
  return hasPrefix(bytes)
}

export function eventIdHex (id: EventId): string {
  let hex = ''
  for (const byte of id) hex += (byte < 16 ? '0' : '') + byte.toString(16)
  return hex
}

/** @throws EventEncodingError for invalid fields, a term that cannot be encoded, or a result over maxEventBytes */
export function encodeEvent (event: WireEvent, limits?: Partial<EventLimits>): Uint8Array {
  const resolved = eventLimits(limits)
  const bytes = encodeMap(toRaw(event, resolved), true)
  requireEventSize(bytes.length, resolved)
  return bytes
}

/** @throws InvalidEventError, and nothing else */
export function decodeEvent (bytes: Uint8Array, limits?: Partial<EventLimits>): WireEvent {
  const resolved = eventLimits(limits)
  if (bytes.length > resolved.maxEventBytes) {
    throw new InvalidEventError('too-large', `an event of ${bytes.length} bytes, over ${resolved.maxEventBytes}`)
  }
  requirePrefix(bytes)
  if (readHead(bytes, SELF_DESCRIBED_PREFIX.length).major === MAJOR_ARRAY) {
    throw new InvalidEventError('bad-shape', 'an event is a map (an array is a batch: use decodeBatch)')
  }
  const { end, pairs } = guardEventItem(bytes, SELF_DESCRIBED_PREFIX.length)
  if (end !== bytes.length) throw new InvalidEventError('trailing-bytes', `${bytes.length - end} bytes after the event`)
  const body = ownBuffer(bytes).subarray(SELF_DESCRIBED_PREFIX.length)
  const event = fromRaw(decodeGuarded(body), pairs, resolved)
  keepBody(event, body)
  return event
}

/** @throws EventEncodingError, also when the batch would be over maxBatchBytes or maxBatchEvents (see encodeBatches) */
export function encodeBatch (events: readonly WireEvent[], limits?: Partial<EventLimits>): Uint8Array {
  const resolved = eventLimits(limits)
  if (events.length > resolved.maxBatchEvents) {
    throw new EventEncodingError('too-many-events', `${events.length} events, over ${resolved.maxBatchEvents}`)
  }
  const bodies = events.map(event => encodeBody(event, resolved))
  const size = batchSize(bodies.length, sumOfLengths(bodies))
  if (size > resolved.maxBatchBytes) throw new EventEncodingError('too-large', `a batch of ${size} bytes, over ${resolved.maxBatchBytes}`)
  return assembleBatch(bodies, size)
}

/** Encodes events into as few batches as the limits allow, in order; each event is encoded once. */
export function encodeBatches (events: readonly WireEvent[], limits?: Partial<EventLimits>): Uint8Array[] {
  const resolved = eventLimits(limits)
  const batches: Uint8Array[] = []
  let bodies: Uint8Array[] = []
  let bodyBytes = 0
  for (const event of events) {
    const body = encodeBody(event, resolved)
    const full = bodies.length === resolved.maxBatchEvents ||
      batchSize(bodies.length + 1, bodyBytes + body.length) > resolved.maxBatchBytes
    if (full && bodies.length > 0) {
      batches.push(assembleBatch(bodies, batchSize(bodies.length, bodyBytes)))
      bodies = []
      bodyBytes = 0
    }
    if (batchSize(1, body.length) > resolved.maxBatchBytes) {
      throw new EventEncodingError('too-large', `an event of ${body.length} bytes does not fit a batch of ${resolved.maxBatchBytes}`)
    }
    bodies.push(body)
    bodyBytes += body.length
  }
  if (bodies.length > 0) batches.push(assembleBatch(bodies, batchSize(bodies.length, bodyBytes)))
  return batches
}

/** @throws InvalidEventError, and nothing else; one bad event refuses the whole batch */
export function decodeBatch (bytes: Uint8Array, limits?: Partial<EventLimits>): WireEvent[] {
  const resolved = eventLimits(limits)
  if (bytes.length > resolved.maxBatchBytes) {
    throw new InvalidEventError('too-large', `a batch of ${bytes.length} bytes, over ${resolved.maxBatchBytes}`)
  }
  const items = guardBatch(bytes, resolved)
  const kept = ownBuffer(bytes)
  const maps = decodeGuarded(kept.subarray(SELF_DESCRIBED_PREFIX.length)) as unknown[]
  return maps.map((map, i) => {
    try {
      const { start, end, pairs } = items[i]
      const event = fromRaw(map, pairs, resolved)
      keepBody(event, kept.subarray(start, end))
      return event
    } catch (err) {
      if (err instanceof InvalidEventError) throw new InvalidEventError(err.reason, `event ${i}: ${err.message}`, { cause: err })
      throw err
    }
  })
}

/** Checks a batch's framing and each event's envelope; returns where each event map is, and its pair count. */
function guardBatch (bytes: Uint8Array, limits: EventLimits): Array<{ start: number, end: number, pairs: number }> {
  requirePrefix(bytes)
  const head = { ...readHead(bytes, SELF_DESCRIBED_PREFIX.length) } // a copy: the guard reuses readHead's object
  if (head.major !== MAJOR_ARRAY) throw new InvalidEventError('bad-shape', 'a batch is an array (a map is an event: use decodeEvent)')
  if (head.argument > limits.maxBatchEvents) {
    throw new InvalidEventError('too-many-events', `${head.argument} events, over ${limits.maxBatchEvents}`)
  }
  if (head.argument > bytes.length - head.next) throw new InvalidEventError('truncated', `${head.argument} events claimed, fewer bytes left`)
  const items: Array<{ start: number, end: number, pairs: number }> = []
  let pos = head.next
  for (let i = 0; i < head.argument; i++) {
    const item = guardEventItem(bytes, pos)
    requireDecodedEventSize(SELF_DESCRIBED_PREFIX.length + item.end - pos, i, limits)
    items.push({ start: pos, end: item.end, pairs: item.pairs })
    pos = item.end
  }
  if (pos !== bytes.length) throw new InvalidEventError('trailing-bytes', `${bytes.length - pos} bytes after the batch`)
  return items
}

/**
 * The bytes of each event in a batch, as it was decoded from one or first encoded into one: an
 * event stored, published or served again is not encoded again (a catch-up of 100,000 events
 * spent more time encoding than decoding; a local change is stored, then published). Events are
 * immutable, so the bytes stay true to the object. Decoded bytes are views into their batch: a
 * copy for each event took longer than decoding it.
 *
 * They are a non-enumerable property under a symbol, which equality, JSON and structured clone do
 * not see: a WeakMap of 100,000 events cost a quarter of the decoding time (its entries are
 * ephemerons, which every garbage collection has to walk).
 */
const WIRE_BODY = Symbol('wire body')

interface WithBody { [WIRE_BODY]?: Uint8Array }

function keepBody (event: WireEvent, body: Uint8Array): void {
  // A frozen event (a caller's own) is encoded each time.
  if (Object.isExtensible(event)) Object.defineProperty(event, WIRE_BODY, { value: body })
}

/**
 * The batch itself when it is most of its buffer, else a copy: views of it live as long as their
 * events, and must not keep a much larger frame (a socket's read buffer) alive with them. A copy
 * by the Uint8Array constructor: a Node Buffer's slice() is a view.
 */
function ownBuffer (bytes: Uint8Array): Uint8Array {
  return bytes.byteLength * 2 >= bytes.buffer.byteLength ? bytes : new Uint8Array(bytes)
}

/** An event's map without the prefix, as it appears inside a batch. */
function encodeBody (event: WireEvent, limits: EventLimits): Uint8Array {
  let body = (event as WithBody)[WIRE_BODY]
  if (body === undefined) {
    body = encodeMap(toRaw(event, limits), false)
    keepBody(event, body)
  }
  requireEventSize(SELF_DESCRIBED_PREFIX.length + body.length, limits)
  return body
}

function assembleBatch (bodies: readonly Uint8Array[], size: number): Uint8Array {
  const batch = new Uint8Array(size)
  batch.set(SELF_DESCRIBED_PREFIX)
  let pos = writeHead(batch, SELF_DESCRIBED_PREFIX.length, MAJOR_ARRAY, bodies.length)
  for (const body of bodies) {
    batch.set(body, pos)
    pos += body.length
  }
  return batch
}

function batchSize (count: number, bodyBytes: number): number {
  return SELF_DESCRIBED_PREFIX.length + headSize(count) + bodyBytes
}

function sumOfLengths (parts: readonly Uint8Array[]): number {
  let sum = 0
  for (const part of parts) sum += part.length
  return sum
}

/** An event's size counts its prefix, in a batch too, so that what decodes alone also decodes in a batch. */
function requireEventSize (size: number, limits: EventLimits): void {
  if (size > limits.maxEventBytes) throw new EventEncodingError('too-large', `an event of ${size} bytes, over ${limits.maxEventBytes}`)
}

function requireDecodedEventSize (size: number, index: number, limits: EventLimits): void {
  if (size > limits.maxEventBytes) {
    throw new InvalidEventError('too-large', `event ${index}: ${size} bytes, over ${limits.maxEventBytes}`)
  }
}
