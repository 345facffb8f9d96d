/**
 * The worker's side of the udp_broadcast codec (p2p_udp.pl): datagram texts to messages and back.
 *
 * Datagrams are untrusted, so each is checked before SWI-Prolog reads it: its size, its prefix,
 * its text, and how deeply its brackets nest (SWI-Prolog's reader recurses in C; see
 * text-nesting.ts). A bad datagram gives `{ error: reason }` and never affects the others.
 *
 * The bridge's way in (`receiveDatagrams`) reads the datagrams and does their changes of shared
 * knowledge in the same Prolog call (p2p_kb:kb_update_datagrams/2): such a term is read from text
 * and asserted without crossing to JavaScript and back; only the other messages are converted.
 */
import { MAX_UDP_TEXT_BYTES, UDP_PREFIX } from './constants.ts'
import { PrologError, TermConversionError } from './errors.ts'
import { inFrame, PL } from './swipl.ts'
import { nestsDeeperThan } from './text-nesting.ts'
import { isCompound } from '../wire/term.ts'
import type { TermConverter } from './convert.ts'
import type { UdpDecodeResult, UdpMessage, UdpReceiveResult } from './protocol.ts'
import type { Swipl } from './swipl.ts'
import type { Atom, Compound, Term } from '../wire/term.ts'

export interface UdpCodecHost {
  readonly pl: Swipl
  readonly convert: TermConverter
  /** Handles of p2p_udp:udp_message_string/2, p2p_udp:udp_string_message/3 and p2p_kb:kb_update_datagrams/2. */
  readonly predicates: { messageString: number, stringMessage: number, updateDatagrams: number }
  /** Deepest bracket nesting read (at most READER_NESTING_LIMIT). */
  readonly maxNesting: number
}

/** Why a datagram was refused; also the reasons of TermConversionError ('too-deep', ...). */
export type UdpRejectReason = 'too-large' | 'no-prefix' | 'bad-text' | 'too-deep' | 'syntax' | 'shape'

const CALL_FLAGS = PL.Q_NODEBUG | PL.Q_CATCH_EXCEPTION
const LONE_SURROGATE = /\p{Cs}/u

export function decodeDatagrams (host: UdpCodecHost, datagrams: readonly string[]): UdpDecodeResult[] {
  return datagrams.map(text => {
    const refusal = precheck(host, text)
    if (refusal !== undefined) return { error: refusal }
    try {
      return readMessage(host, text)
    } catch (err) {
      if (err instanceof TermConversionError) return { error: err.reason }
      throw err
    }
  })
}

/**
 * Reads the datagrams and does the changes of shared predicates among them (`send(assert(C))`,
 * `request(Id, retract(C))`, ...), in order, in one Prolog call; the other messages come back.
 * @throws PrologError when p2p_kb:kb_update_datagrams/2 fails (it catches every error of a datagram)
 */
export function receiveDatagrams (host: UdpCodecHost, datagrams: readonly string[]): UdpReceiveResult[] {
  const results: UdpReceiveResult[] = []
  let readable: number[] = []
  let textLength = 0
  datagrams.forEach((text, i) => {
    const refusal = precheck(host, text)
    if (refusal !== undefined) {
      results[i] = { error: refusal }
      return
    }
    // The terms of one call stay on Prolog's stacks until it ends: a bounded amount of text a call.
    if (textLength + text.length > MAX_RECEIVE_TEXT && readable.length > 0) {
      receiveReadable(host, datagrams, readable, results)
      readable = []
      textLength = 0
    }
    readable.push(i)
    textLength += text.length
  })
  receiveReadable(host, datagrams, readable, results)
  return results
}

/** UTF-16 units of datagram text read in one Prolog call at most (a 512-datagram batch of 1 KiB is one). */
const MAX_RECEIVE_TEXT = 4 * 1024 * 1024

/** kb_update_datagrams/2 on the datagrams at `indices`; their results go to the same places of `results`. */
function receiveReadable (host: UdpCodecHost, datagrams: readonly string[], indices: readonly number[], results: UdpReceiveResult[]): void {
  if (indices.length === 0) return
  const { pl, convert, predicates } = host
  inFrame(pl, () => {
    const args = pl._PL_new_term_refs(2)
    convert.put(args, indices.map(i => datagrams[i]))
    if (pl._PL_call_predicate(0, CALL_FLAGS, predicates.updateDatagrams, args) === 0) {
      throw new PrologError('p2p_kb:kb_update_datagrams/2 failed', { atom: 'kb_update_datagrams_failed' })
    }
    const list = pl._PL_new_term_ref()
    const head = pl._PL_new_term_ref()
    pl._PL_put_term(list, args + 1)
    for (let k = 0; pl._PL_get_list(list, head, list) !== 0; k++) results[indices[k]] = receivedResult(host, head)
  })
}

/** One result of kb_update_datagrams/2 (see there) as the host takes it. */
function receivedResult (host: UdpCodecHost, ref: number): UdpReceiveResult {
  let result: Compound
  try {
    result = host.convert.get(ref) as Compound
  } catch (err) {
    if (err instanceof TermConversionError) return { error: err.reason }
    throw err
  }
  const [first, second] = result.args
  switch (result.functor) {
    case 'message': return toUdpMessage(first as Compound)
    case 'unread': return { error: (first as Atom).atom === 'no_prefix' ? 'no-prefix' : (first as Atom).atom }
    default: return toUdpChange(first, second)
  }
}

/** change(send, Outcome) or change(request(Id), Outcome) of kb_update_datagrams/2. */
function toUdpChange (via: Term, outcome: Term): UdpReceiveResult {
  const error = isCompound(outcome, 'error', 1) ? { error: outcome.args[0] as string } : {}
  if (!isCompound(via, 'request', 1)) return { kind: 'change', via: 'send', ...error }
  const reply = isCompound(outcome, 'done', 1) ? { reply: { id: via.args[0], term: outcome.args[0] } } : {}
  return { kind: 'change', via: 'request', ...reply, ...error }
}

/** @throws TermConversionError when a message's term cannot be written (the batch fails as a whole). */
export function encodeMessages (host: UdpCodecHost, messages: readonly UdpMessage[]): string[] {
  return messages.map((message, index) => {
    try {
      return escapeBidiOverrides(writeMessage(host, message))
    } catch (err) {
      if (err instanceof TermConversionError) throw new TermConversionError(err.reason, `message ${index}: ${err.message}`)
      throw err
    }
  })
}

const BIDI_OVERRIDE = /[\u202a-\u202e\u2066-\u2069]/g

/**
 * SWI-Prolog 10 writes bidi override characters as they are, and its reader then refuses them
 * (syntax_error(bidi_override(_)), against "Trojan Source" text). They can only stand inside
 * quotes, so writing them as `\x202A\` escapes is safe and every SWI-Prolog reads them back.
 */
function escapeBidiOverrides (text: string): string {
  return text.replace(BIDI_OVERRIDE, c => `\\x${c.charCodeAt(0).toString(16).toUpperCase()}\\`)
}

function precheck (host: UdpCodecHost, text: unknown): UdpRejectReason | undefined {
  if (typeof text !== 'string') return 'bad-text'
  // A UTF-16 unit is one to three UTF-8 bytes: long strings are refused before they are measured,
  // and short ones need not be measured at all.
  if (text.length > MAX_UDP_TEXT_BYTES || (text.length * 3 > MAX_UDP_TEXT_BYTES && host.pl.lengthBytesUTF8(text) > MAX_UDP_TEXT_BYTES)) return 'too-large'
  if (!text.startsWith(UDP_PREFIX)) return 'no-prefix'
  if (LONE_SURROGATE.test(text)) return 'bad-text'
  if (nestsDeeperThan(text, host.maxNesting)) return 'too-deep'
  return undefined
}

function readMessage (host: UdpCodecHost, text: string): UdpDecodeResult {
  const { pl, convert, predicates } = host
  return inFrame(pl, () => {
    const args = pl._PL_new_term_refs(3)
    convert.put(args, text)
    if (pl._PL_call_predicate(0, CALL_FLAGS, predicates.stringMessage, args) === 0) return { error: 'syntax' }
    const status = (convert.get(args + 2) as { atom: string }).atom
    if (status !== 'ok') return { error: status === 'no_prefix' ? 'no-prefix' : status }
    return toUdpMessage(convert.get(args + 1) as Compound)
  })
}

function toUdpMessage (message: Compound): UdpMessage {
  const [first, second] = message.args
  switch (message.functor) {
    case 'send': return { kind: 'send', term: first }
    case 'request': return { kind: 'request', id: first, term: second }
    default: return { kind: 'reply', id: first, term: second }
  }
}

function writeMessage (host: UdpCodecHost, message: UdpMessage): string {
  const { pl, convert, predicates } = host
  return inFrame(pl, () => {
    const args = pl._PL_new_term_refs(2)
    convert.put(args, messageTerm(message))
    if (pl._PL_call_predicate(0, CALL_FLAGS, predicates.messageString, args) === 0) {
      throw new TermConversionError('not-a-term', 'udp_broadcast could not write the message')
    }
    return convert.get(args + 1) as string
  })
}

function messageTerm (message: UdpMessage): Term {
  switch (message?.kind) {
    case 'send': return { functor: 'send', args: [message.term] }
    case 'request': return { functor: 'request', args: [message.id, message.term] }
    case 'reply': return { functor: 'reply', args: [message.id, message.term] }
    default: throw new TermConversionError('not-a-term', 'a UDP message is send, request or reply')
  }
}
