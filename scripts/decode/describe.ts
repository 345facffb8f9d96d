/**
 * This project's datagrams and events as one line of text each, for people watching traffic:
 * SWI-Prolog `library(udp_broadcast)` datagrams (`%-prolog-` then a term, shown as sent) and the
 * CBOR events and batches of docs/wire.md (decoded with core/wire, every term written as Prolog
 * text). Bad input is described, never thrown.
 */
import { UDP_PREFIX } from '../../core/engine/constants.ts'
import { decodeBatch, decodeEvent, eventIdHex, isCborPayload } from '../../core/wire/index.ts'
import { termText } from '../../www/ui/term-text.ts'
import { hex } from './capture.ts'
import type { WireEvent } from '../../core/wire/index.ts'

/** What a datagram holds: lines to print, or why it is not one of ours. */
export type PayloadDescription =
  | { readonly format: 'udp_broadcast' | 'cbor', readonly lines: readonly string[] }
  | { readonly format: 'unknown' | 'refused', readonly problem: string }

/** A term longer than this is cut (with …): a line per datagram stays readable. */
const TERM_CHARS = 2_000
const PREFIX_BYTES = new TextEncoder().encode(UDP_PREFIX)
const ARRAY_HEADS = { from: 0x80, to: 0x9f }

export function describePayload (payload: Uint8Array): PayloadDescription {
  if (startsWith(payload, PREFIX_BYTES)) return describeUdpBroadcast(payload.subarray(PREFIX_BYTES.length))
  if (isCborPayload(payload)) return describeCbor(payload)
  return { format: 'unknown', problem: `not a P2P Prolog datagram: ${payload.length} bytes starting ${hex(payload.subarray(0, 12))}` }
}

function describeUdpBroadcast (body: Uint8Array): PayloadDescription {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    return { format: 'refused', problem: `a udp_broadcast datagram that is not UTF-8 (${body.length} bytes)` }
  }
  const shown = visible(text.trim())
  // SWI-Prolog sends exactly these three shapes; the bridge refuses anything else (docs/wire.md 5).
  const kind = /^(send|request|reply)\(/.exec(shown)?.[1]
  if (kind === undefined) return { format: 'refused', problem: `a udp_broadcast datagram that is not send/1, request/2 or reply/2: ${cut(shown)}` }
  return { format: 'udp_broadcast', lines: [`udp_broadcast ${cut(shown)}`] }
}

function describeCbor (payload: Uint8Array): PayloadDescription {
  const isBatch = payload.length > 3 && payload[3] >= ARRAY_HEADS.from && payload[3] <= ARRAY_HEADS.to
  let events: WireEvent[]
  try {
    events = isBatch ? decodeBatch(payload) : [decodeEvent(payload)]
  } catch (err) {
    const reason = (err as { reason?: unknown }).reason
    return { format: 'refused', problem: `CBOR refused (${typeof reason === 'string' ? reason : 'error'}): ${(err as Error).message}` }
  }
  if (!isBatch) return { format: 'cbor', lines: [`cbor ${describeEvent(events[0])}`] }
  return { format: 'cbor', lines: [`cbor batch of ${events.length} event${events.length === 1 ? '' : 's'}`, ...events.map(e => `  ${describeEvent(e)}`)] }
}

/** One event: kind, origin, clock, the fields of its kind, and its term as Prolog text. */
export function describeEvent (event: WireEvent): string {
  const head = `${event.kind} from ${shortPeer(event.origin)} at ${clockText(event.hlc.wall, event.hlc.counter)} id ${eventIdHex(event.id).slice(0, 8)}`
  switch (event.kind) {
    case 'message': return `${head}: ${termText(event.term, TERM_CHARS)}`
    case 'request': return `${head} collecting ${event.timeout} ms: ${termText(event.term, TERM_CHARS)}`
    case 'reply': return `${head} to ${eventIdHex(event.request).slice(0, 8)}: ${termText(event.term, TERM_CHARS)}`
    case 'query': return `${head} collecting ${event.timeout} ms, at most ${event.limit} answers a peer: ${termText(event.goal, TERM_CHARS)}`
    case 'cancel': return `${head} cancels ${eventIdHex(event.request).slice(0, 8)}`
    case 'assert': return `${head} n ${event.seq} ${event.front ? 'asserta' : 'assertz'}: ${termText(event.clause, TERM_CHARS)}`
    case 'retract': return `${head} n ${event.seq} retracts ${event.ids.map(id => eventIdHex(id).slice(0, 8)).join(', ')}`
  }
}

/** The end of a peer id, as the page's panels show it. */
export function shortPeer (id: string): string {
  return id.length > 10 ? `…${id.slice(-6)}` : id
}

export function clockText (wallMs: number, counter = 0): string {
  // A clock from the network may be any number below 2^53, far past what a Date holds.
  const date = new Date(wallMs)
  const time = Number.isNaN(date.getTime()) ? (Number.isNaN(wallMs) ? '--:--:--.---' : `${wallMs} ms`) : date.toISOString().slice(11, 23)
  return counter === 0 ? time : `${time}+${counter}`
}

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b)
}

/** Control characters (a datagram may hold any) as escapes, so that a line stays one line. */
function visible (text: string): string {
  return text.replace(/\p{Cc}/gu, c => c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

function cut (text: string): string {
  return text.length > TERM_CHARS ? `${text.slice(0, TERM_CHARS - 1)}…` : text
}
