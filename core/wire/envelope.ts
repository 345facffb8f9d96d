/**
 * The event envelope's CBOR: the one cbor-x configuration of the project, and the guard that
 * every inbound envelope passes before cbor-x sees it.
 *
 * Why a guard: cbor-x decodes recursively (deep nesting overflows the stack) and gives tags
 * meanings of its own, some stateful: 27 calls a global constructor (`RegExp`, `Error`), 28/29
 * build shared and cyclic objects, 51 and 6 install packed-value tables, 258/259 make Sets and
 * Maps. An envelope needs none of that. The guard admits only the envelope profile: definite
 * lengths, nesting of at most two containers, UTF-8 texts, integers, byte strings, true/false and
 * tag 24 around a byte string (a term, decoded later by the term codec, never by cbor-x).
 */
import { Decoder, Encoder, Tag } from 'cbor-x'
import {
  INFO_INDEFINITE, INFO_UINT64, INFO_UINT8, MAJOR_ARRAY, MAJOR_BYTES, MAJOR_MAP, MAJOR_NEGINT,
  MAJOR_TAG, MAJOR_TEXT, MAJOR_UINT, SELF_DESCRIBED_PREFIX, SIMPLE_FALSE, SIMPLE_TRUE, TAG_ENCODED_CBOR, isUtf8
} from './cbor.ts'
import { InvalidEventError } from './errors.ts'
import type { EventRejectReason } from './errors.ts'

// tagUint8Array false: a Uint8Array is a plain byte string (no typed-array tag 64);
// variableMapSize: shortest map heads (cbor-x writes a 3-byte head for every object otherwise).
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true })
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })

/** An event map holds at most two levels of containers: the map and an array in it ("t", "ids"). */
const EVENT_MAX_DEPTH = 2

/** Wraps term bytes as an embedded CBOR data item, 24(<<term>>). */
export function embedded (bytes: Uint8Array): Tag {
  return new Tag(bytes, TAG_ENCODED_CBOR)
}

/** The bytes of embedded CBOR, or undefined when `value` is something else. */
export function embeddedBytes (value: unknown): Uint8Array | undefined {
  return value instanceof Tag && value.tag === TAG_ENCODED_CBOR && value.value instanceof Uint8Array ? value.value : undefined
}

/** Encodes a map with cbor-x; returns a fresh copy (cbor-x returns a view of its shared buffer). */
export function encodeMap (map: Record<string, unknown>, prefixed: boolean): Uint8Array {
  const view = encoder.encode(map)
  const offset = prefixed ? SELF_DESCRIBED_PREFIX.length : 0
  const bytes = new Uint8Array(offset + view.length)
  if (prefixed) bytes.set(SELF_DESCRIBED_PREFIX)
  bytes.set(view, offset)
  return bytes
}

/** Decodes guarded bytes with cbor-x. */
export function decodeGuarded (bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes)
  } catch (err) {
    // Unreachable for guarded bytes as far as we know; a cbor-x surprise still becomes a typed refusal.
    throw new InvalidEventError('malformed', `cbor-x refused the envelope: ${String(err)}`, { cause: err })
  }
}

export function hasPrefix (bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xd9 && bytes[1] === 0xd9 && bytes[2] === 0xf7
}

export function requirePrefix (bytes: Uint8Array): void {
  if (!hasPrefix(bytes)) throw new InvalidEventError('not-cbor', 'does not start with the self-described CBOR tag d9 d9 f7')
}

/** A head read by readHead; one mutable instance, so that guarding a batch allocates nothing per item. */
export interface Head { major: number, argument: number, next: number }

const scratchHead: Head = { major: 0, argument: 0, next: 0 }

/**
 * Reads a definite-length head at `pos` into a shared object, valid until the next call. Arguments
 * past 2^53 are inexact, and larger than any length the input has.
 */
export function readHead (bytes: Uint8Array, pos: number): Readonly<Head> {
  if (pos >= bytes.length) fail('truncated', 'the envelope ends early')
  const initial = bytes[pos]
  const info = initial & 0x1f
  scratchHead.major = initial >> 5
  if (info < INFO_UINT8) {
    scratchHead.argument = info
    scratchHead.next = pos + 1
    return scratchHead
  }
  if (info === INFO_INDEFINITE) fail('malformed', 'indefinite-length items are not accepted')
  if (info > INFO_UINT64) fail('malformed', `reserved additional information ${info}`)
  const size = 1 << (info - INFO_UINT8)
  if (pos + 1 + size > bytes.length) fail('truncated', 'the envelope ends inside a head')
  let argument = 0
  for (let i = 1; i <= size; i++) argument = argument * 0x100 + bytes[pos + i]
  scratchHead.argument = argument
  scratchHead.next = pos + 1 + size
  return scratchHead
}

export interface GuardedItem {
  /** Offset after the item. */
  readonly end: number
  /** The map's pair count (cbor-x folds duplicate keys into one; the schema compares counts). */
  readonly pairs: number
}

/** Checks the event map at `start` against the profile, without building anything. */
export function guardEventItem (bytes: Uint8Array, start: number): GuardedItem {
  // Items still to read in each open container (a map counts keys and values), and which are maps.
  const remaining: number[] = []
  const isMap: boolean[] = []
  let head = readHead(bytes, start)
  if (head.major !== MAJOR_MAP) fail('bad-shape', 'an event is a map')
  const pairs = head.argument
  let headStart = start
  for (;;) {
    let pos = head.next
    const { major, argument } = head
    const top = remaining.length - 1
    // cbor-x throws on keys that are not texts or numbers; texts are all an envelope needs.
    if (top >= 0 && isMap[top] && remaining[top] % 2 === 0 && major !== MAJOR_TEXT) fail('bad-shape', 'map keys are texts')
    let children = 0
    switch (major) {
      case MAJOR_UINT: case MAJOR_NEGINT: break
      case MAJOR_BYTES: pos = skip(bytes, pos, argument); break
      case MAJOR_TEXT:
        pos = skip(bytes, pos, argument)
        if (!isUtf8(bytes, pos - argument, pos)) fail('bad-utf8', 'an envelope text is not UTF-8')
        break
      case MAJOR_ARRAY: children = argument; break
      case MAJOR_MAP: children = argument * 2; break
      case MAJOR_TAG: pos = skipEmbedded(bytes, pos, argument); break
      default: if (!isBoolean(bytes[headStart])) fail('bad-shape', 'the envelope holds no floats, null or undefined')
    }
    if (children > bytes.length - pos) fail('truncated', `${children} items claimed, fewer bytes left`)
    if (children > 0) {
      if (remaining.length >= EVENT_MAX_DEPTH) fail('too-deep', 'an envelope nests at most two containers')
      remaining.push(children)
      isMap.push(major === MAJOR_MAP)
    } else {
      while (remaining.length > 0 && --remaining[remaining.length - 1] === 0) {
        remaining.pop()
        isMap.pop()
      }
    }
    if (remaining.length === 0) return { end: pos, pairs }
    headStart = pos
    head = readHead(bytes, pos)
  }
}

function skipEmbedded (bytes: Uint8Array, pos: number, tag: number): number {
  if (tag !== TAG_ENCODED_CBOR) fail('unknown-tag', `tag ${tag} is not part of the envelope`)
  const content = readHead(bytes, pos)
  if (content.major !== MAJOR_BYTES) fail('bad-shape', 'tag 24 must hold a byte string')
  return skip(bytes, content.next, content.argument)
}

function isBoolean (initial: number): boolean {
  return initial === SIMPLE_FALSE || initial === SIMPLE_TRUE
}

function skip (bytes: Uint8Array, pos: number, length: number): number {
  if (length > bytes.length - pos) fail('truncated', 'the envelope ends inside a string')
  return pos + length
}

function fail (reason: EventRejectReason, message: string): never {
  throw new InvalidEventError(reason, message)
}
