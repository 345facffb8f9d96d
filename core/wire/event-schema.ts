/**
 * The event map of docs/wire.md, "Events": keys per kind, and the checks of every field, shared by
 * the encoder (which refuses to emit what decoders refuse) and the decoder (which trusts nothing).
 */
import { isWellFormed } from './cbor.ts'
import { embedded, embeddedBytes } from './envelope.ts'
import { EventEncodingError, InvalidEventError, InvalidTermError, TermEncodingError } from './errors.ts'
import { decodeTermWithin, encodeTermWithin } from './term-codec.ts'
import type { EventEncodingReason, EventRejectReason } from './errors.ts'
import type { EventId, Hlc, WireEvent } from './event.ts'
import type { EventLimits } from './limits.ts'
import type { Term } from './term.ts'

export const WIRE_VERSION = 1
export const EVENT_ID_BYTES = 16

type Kind = WireEvent['kind']

/** The keys of each kind's map, in the order they are written: the term last, as it is the big one. */
const KEYS: Readonly<Record<Kind, readonly string[]>> = {
  message: ['v', 'k', 'id', 't', 'o', 'x'],
  request: ['v', 'k', 'id', 't', 'o', 'to', 'x'],
  reply: ['v', 'k', 'id', 't', 'o', 're', 'x'],
  query: ['v', 'k', 'id', 't', 'o', 'to', 'lim', 'x'],
  cancel: ['v', 'k', 'id', 't', 'o', 're'],
  assert: ['v', 'k', 'id', 't', 'o', 'n', 'f', 'x'],
  retract: ['v', 'k', 'id', 't', 'o', 'n', 'ids']
}

type RawEvent = Record<string, unknown>

/** The map of an event, with its term already encoded; throws EventEncodingError. */
export function toRaw (event: WireEvent, limits: EventLimits): RawEvent {
  if (!Object.hasOwn(KEYS, event.kind)) refuse(`kind '${String(event.kind)}'`)
  if (!isEventId(event.id)) refuse('id (16 bytes)')
  if (!isHlc(event.hlc)) refuse('hlc (non-negative safe integers)')
  if (!isOrigin(event.origin, limits)) refuse(`origin (1 to ${limits.maxOriginBytes} UTF-8 bytes)`)
  const raw: RawEvent = { v: WIRE_VERSION, k: event.kind, id: event.id, t: [uint(event.hlc.wall), uint(event.hlc.counter)], o: event.origin }
  switch (event.kind) {
    case 'message':
      break
    case 'request':
      if (!isUint(event.timeout)) refuse('timeout (a non-negative safe integer)')
      raw.to = uint(event.timeout)
      break
    case 'reply':
      if (!isEventId(event.request)) refuse('request (16 bytes)')
      raw.re = event.request
      break
    case 'query':
      if (!isUint(event.timeout)) refuse('timeout (a non-negative safe integer)')
      if (!isUint(event.limit)) refuse('limit (a non-negative safe integer)')
      raw.to = uint(event.timeout)
      raw.lim = uint(event.limit)
      raw.x = embeddedTerm(event.goal, limits)
      return raw
    case 'cancel':
      if (!isEventId(event.request)) refuse('request (16 bytes)')
      raw.re = event.request
      return raw
    case 'assert':
      raw.n = kbSeq(event.seq)
      if (typeof event.front !== 'boolean') refuse('front (a boolean)')
      raw.f = event.front
      raw.x = embeddedTerm(event.clause, limits)
      return raw
    case 'retract':
      raw.n = kbSeq(event.seq)
      if (!isIdList(event.ids, limits)) refuse(`ids (1 to ${limits.maxRetractIds} ids)`)
      raw.ids = event.ids
      return raw
  }
  raw.x = embeddedTerm(event.term, limits)
  return raw
}

/** The event a decoded map stands for; `pairs` is the map's pair count as the guard read it. */
export function fromRaw (raw: unknown, pairs: number, limits: EventLimits): WireEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) rejection('bad-shape', 'an event is a map')
  const map = raw as RawEvent
  // cbor-x gives a bigint for a uint64 head; any head width is accepted, as everywhere.
  const version = typeof map.v === 'bigint' ? Number(map.v) : map.v
  if (version !== WIRE_VERSION) rejection('bad-version', `version ${String(map.v)}, this peer reads ${WIRE_VERSION}`)
  const kind = map.k
  if (typeof kind !== 'string' || !Object.hasOwn(KEYS, kind)) rejection('unknown-kind', `kind '${String(kind)}'`)
  requireKeys(map, KEYS[kind as Kind], pairs)
  // Each kind's object is one literal, so that all events of a kind share one shape (a spread of
  // the common fields made decoding a tenth slower).
  const id = eventId(map.id, 'id')
  const t = hlc(map.t)
  const o = origin(map.o, limits)
  switch (kind as Kind) {
    case 'message': return { kind: 'message', id, hlc: t, origin: o, term: term(map.x, limits) }
    case 'request': return { kind: 'request', id, hlc: t, origin: o, timeout: safeUint(map.to, 'to'), term: term(map.x, limits) }
    case 'reply': return { kind: 'reply', id, hlc: t, origin: o, request: eventId(map.re, 're'), term: term(map.x, limits) }
    case 'query': return { kind: 'query', id, hlc: t, origin: o, timeout: safeUint(map.to, 'to'), limit: safeUint(map.lim, 'lim'), goal: term(map.x, limits) }
    case 'cancel': return { kind: 'cancel', id, hlc: t, origin: o, request: eventId(map.re, 're') }
    case 'assert': return { kind: 'assert', id, hlc: t, origin: o, seq: seq(map.n), front: front(map.f), clause: term(map.x, limits) }
    case 'retract': return { kind: 'retract', id, hlc: t, origin: o, seq: seq(map.n), ids: idList(map.ids, limits) }
  }
}

/**
 * Exactly the kind's keys: the guard's pair count catches duplicates, which cbor-x folds into one.
 * A map of as many pairs as the kind has keys, all of them present, has no other key and no key
 * twice, so the map's own keys are listed only for the error.
 */
function requireKeys (map: RawEvent, keys: readonly string[], pairs: number): void {
  let ok = pairs === keys.length
  for (let i = 0; ok && i < keys.length; i++) ok = Object.hasOwn(map, keys[i])
  if (!ok) rejection('bad-field', `keys [${Object.keys(map).join(', ')}] (${pairs} pairs), expected [${keys.join(', ')}]`)
}

/**
 * A view, not a copy: decodeEvent and decodeBatch hand cbor-x bytes of their own (copied when they
 * were a small part of a larger buffer), which the event keeps anyway for its wire body; a copy
 * of every id was a tenth of decoding a catch-up.
 */
function eventId (value: unknown, key: string): EventId {
  if (!isEventId(value)) rejection('bad-field', `"${key}" must be ${EVENT_ID_BYTES} bytes`)
  return plainView(value)
}

/** A Node Buffer's bytes (cbor-x gives views of the input's kind) as a plain Uint8Array: ids are plain data. */
function plainView (bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function hlc (value: unknown): Hlc {
  if (!Array.isArray(value) || value.length !== 2) rejection('bad-field', '"t" must be [wall, counter]')
  return { wall: safeUint(value[0], 't'), counter: safeUint(value[1], 't') }
}

/**
 * The last origin decoded, checked against these limits: a batch (and a catch-up) names the same
 * origin in event after event, and each event would otherwise keep a copy of it of its own.
 */
let lastOrigin: { text: string, maxBytes: number } | undefined

function origin (value: unknown, limits: EventLimits): string {
  if (lastOrigin !== undefined && value === lastOrigin.text && limits.maxOriginBytes === lastOrigin.maxBytes) return lastOrigin.text
  if (!isOrigin(value, limits)) rejection('bad-field', `"o" must be a text of 1 to ${limits.maxOriginBytes} bytes`)
  lastOrigin = { text: value, maxBytes: limits.maxOriginBytes }
  return value
}

/** A kb event's sequence number: numbering starts at 1, so 0 is refused. */
function seq (value: unknown): number {
  const n = safeUint(value, 'n')
  if (n === 0) rejection('bad-field', '"n" must be at least 1')
  return n
}

function front (value: unknown): boolean {
  if (typeof value !== 'boolean') rejection('bad-field', '"f" must be true or false')
  return value
}

function idList (value: unknown, limits: EventLimits): EventId[] {
  if (!isIdList(value, limits)) rejection('bad-field', `"ids" must hold 1 to ${limits.maxRetractIds} ids of ${EVENT_ID_BYTES} bytes`)
  return value.map(plainView)
}

/** cbor-x gives a number below 2^32 and a bigint from 2^32 on (CBOR uint64). */
function safeUint (value: unknown, key: string): number {
  const n = typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
  if (!isUint(n)) rejection('bad-field', `"${key}" must be a non-negative integer below 2^53`)
  return n
}

function term (value: unknown, limits: EventLimits): Term {
  const bytes = embeddedBytes(value)
  if (bytes === undefined) rejection('bad-field', '"x" must be 24(<<term>>)')
  try {
    return decodeTermWithin(bytes, limits)
  } catch (err) {
    if (err instanceof InvalidTermError) rejection(err.reason, `its term: ${err.message}`, err)
    throw err
  }
}

function embeddedTerm (t: Term, limits: EventLimits): unknown {
  try {
    return embedded(encodeTermWithin(t, limits))
  } catch (err) {
    if (err instanceof TermEncodingError) encodingFailure(err.reason, `its term: ${err.message}`, err)
    throw err
  }
}

function kbSeq (n: number): number | bigint {
  if (!isUint(n) || n === 0) refuse('seq (a positive safe integer)')
  return uint(n)
}

function isEventId (value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === EVENT_ID_BYTES
}

function isHlc (value: unknown): value is Hlc {
  return typeof value === 'object' && value !== null && isUint((value as Hlc).wall) && isUint((value as Hlc).counter)
}

function isUint (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function isOrigin (value: unknown, limits: EventLimits): value is string {
  return typeof value === 'string' && value.length > 0 && utf8Length(value) <= limits.maxOriginBytes && isWellFormed(value)
}

function isIdList (value: unknown, limits: EventLimits): value is Uint8Array[] {
  return Array.isArray(value) && value.length > 0 && value.length <= limits.maxRetractIds && value.every(isEventId)
}

/** cbor-x writes numbers from 2^32 on as float64, bigints always as uint64: pick the shortest exact form. */
function uint (n: number): number | bigint {
  return n < 0x100000000 ? n : BigInt(n)
}

function utf8Length (text: string): number {
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    length += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3 // a surrogate pair is 4 bytes, 2 per half
  }
  return length
}

function refuse (field: string): never {
  encodingFailure('bad-field', `${field} is invalid`)
}

function rejection (reason: EventRejectReason, message: string, cause?: Error): never {
  throw new InvalidEventError(reason, message, cause === undefined ? undefined : { cause })
}

function encodingFailure (reason: EventEncodingReason, message: string, cause?: Error): never {
  throw new EventEncodingError(reason, message, cause === undefined ? undefined : { cause })
}
