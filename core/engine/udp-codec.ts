/**
 * The worker's side of the udp_broadcast codec (p2p_udp.pl): datagram texts to messages and back.
 *
 * Datagrams are untrusted, so each is checked before SWI-Prolog reads it: its size, its prefix,
 * its text, and how deeply its brackets nest (SWI-Prolog's reader recurses in C; see
 * text-nesting.ts). A bad datagram gives `{ error: reason }` and never affects the others.
 */
import { MAX_UDP_TEXT_BYTES, UDP_PREFIX } from './constants.ts'
import { TermConversionError } from './errors.ts'
import { inFrame, PL } from './swipl.ts'
import { textNesting } from './text-nesting.ts'
import type { TermConverter } from './convert.ts'
import type { UdpDecodeResult, UdpMessage } from './protocol.ts'
import type { Swipl } from './swipl.ts'
import type { Term } from '../wire/term.ts'

export interface UdpCodecHost {
  readonly pl: Swipl
  readonly convert: TermConverter
  /** Handles of p2p_udp:udp_message_string/2 and p2p_udp:udp_string_message/3. */
  readonly predicates: { messageString: number, stringMessage: number }
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
  // A UTF-16 unit is at least one UTF-8 byte, so long strings are refused before they are measured.
  if (text.length > MAX_UDP_TEXT_BYTES || host.pl.lengthBytesUTF8(text) > MAX_UDP_TEXT_BYTES) return 'too-large'
  if (!text.startsWith(UDP_PREFIX)) return 'no-prefix'
  if (LONE_SURROGATE.test(text)) return 'bad-text'
  if (textNesting(text) > host.maxNesting) return 'too-deep'
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
    return toUdpMessage(convert.get(args + 1) as { functor: string, args: Term[] })
  })
}

function toUdpMessage (message: { functor: string, args: Term[] }): UdpMessage {
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
