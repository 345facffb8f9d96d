/**
 * The UDP bridge: a local multicast group (default 239.0.0.2:9999 on the loopback interface)
 * joined to the network, speaking SWI-Prolog's library(udp_broadcast) wire format, so that a
 * stock `swipl` on the host is a member.
 *
 * From the group: `send(T)` becomes a network message, except `send(assert(C))`, `asserta(C)`,
 * `retract(C)` and `retractall(H)` of a shared predicate, which change the shared knowledge
 * (docs/kb.md); `request(Id, T)` becomes a network request
 * whose answers go back to the requester as `reply(Id, A)` datagrams, until the request timeout
 * (stock swipl waits 0.25 s by default), and `request(Id, network(G))` a network query (Prolog's
 * network/1: every peer runs G sandboxed) answered with `reply(Id, network(Instance))`. Datagrams in this project's CBOR format (they start with
 * the CBOR self-described tag) are accepted too: message and request events.
 * To the group: every network message as `send(T)`; every network request as `request(Id, T)`
 * from the bridge's own socket, whose `reply/2` datagrams go back to the network as answers.
 *
 * Every datagram is untrusted: size-limited, decoded strictly, refused with a counted reason. The
 * bridge only ever emits `send/1`, `request/2` and `reply/2`, each a complete term: stock swipl
 * 9.0's receiver thread dies for good on anything else.
 *
 * No echo: datagrams from the bridge's own socket are ignored; a `send` datagram whose text the
 * network delivered here in the last second is taken for another bridge's copy and dropped; and
 * requests a bridge forwards carry an id of the form `p2p_request(Hex)`, which bridges do not
 * forward again. So two bridges on one group do not loop.
 */
import { createSocket } from 'node:dgram'
import { decodeEvent, encodeEvent, eventIdHex, isCborPayload, newEventId } from '../core/wire/event.ts'
import { isCompound } from '../core/wire/term.ts'
import type { UdpChange, UdpReceiveResult } from '../core/engine/protocol.ts'
import type { Peer } from '../core/peer.ts'
import type { RequestEvent } from '../core/wire/event.ts'
import type { Term } from '../core/wire/term.ts'
import type { Log } from '../node/log.ts'
import type { RemoteInfo, Socket } from 'node:dgram'

export type UdpMessage =
  | { kind: 'send', term: Term }
  | { kind: 'request', id: Term, term: Term }
  | { kind: 'reply', id: Term, term: Term }

/**
 * Converts between udp_broadcast datagram text and terms (SWI-Prolog's own reader and writer);
 * on the way in it also does the changes of shared knowledge the datagrams ask for (the engine's
 * receiveUdp: `send(assert(C))`, `request(Id, retract(C))`, ... of a shared predicate, in order,
 * without handing their terms out; a change of another predicate is an ordinary message).
 */
export interface UdpCodec {
  receiveUdp (texts: string[]): Promise<UdpReceiveResult[]>
  encodeUdp (messages: UdpMessage[]): Promise<string[]>
}

export interface UdpBridgeInit {
  /** @default '239.0.0.2' */
  group?: string
  /** @default 9999 */
  port?: number
  /** The interface address to join the group on and send from. @default '127.0.0.1' */
  interface?: string
  /** How long a request from the group collects network answers, ms. @default 250 */
  requestTimeout?: number
  /**
   * Datagrams per second the bridge sends at most. A receiver's socket buffer holds a few hundred
   * datagrams (about 350 with Linux defaults); a burst faster than a stock swipl reads would
   * overflow it, and UDP says nothing when it drops. @default 10000
   */
  sendRate?: number
  /** Larger datagrams are refused; the default leaves room for the event envelope within the
   * 64 KiB event limit. @default 61440 */
  maxDatagramBytes?: number
}

export interface UdpBridgeComponents {
  peer: Peer
  codec: UdpCodec
  /** Where the changes the codec did are stored: `settled()` resolves once they are. */
  knowledge?: { settled (): Promise<void> }
  log: Log
}

export interface UdpBridge {
  /** Datagrams in and out, and refusals by reason. */
  readonly counters: Readonly<Record<string, number>>
  /** Where the bridge sends from (requests to the group come from here). */
  readonly privateAddress: { address: string, port: number }
  stop (): Promise<void>
}

export const UDP_BRIDGE_DEFAULTS: Required<UdpBridgeInit> = {
  group: '239.0.0.2',
  port: 9999,
  interface: '127.0.0.1',
  requestTimeout: 250,
  sendRate: 10_000,
  maxDatagramBytes: 60 * 1024
}

const PROLOG_PREFIX = '%-prolog-\n'
const ECHO_WINDOW_MS = 1000
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024
/** Datagrams sent back to back before the pacer waits; well under a receiver's buffer. */
const SEND_BURST = 64
const REFUSAL_LOG_INTERVAL_MS = 10_000
/**
 * Datagrams (or messages to write) handed to the engine in one call at most: behind a backlog the
 * queue holds thousands, and one call for all of them would hold the worker (no query or request
 * served) and the network (nothing published) for seconds.
 */
const MAX_ENGINE_BATCH = 512
const utf8 = new TextDecoder('utf-8', { fatal: true })

export async function createUdpBridge (components: UdpBridgeComponents, init: UdpBridgeInit = {}): Promise<UdpBridge> {
  const { peer, codec, log } = components
  const options = { ...UDP_BRIDGE_DEFAULTS, ...init }
  const counters: Record<string, number> = {}
  const count = (key: string, n = 1): void => { counters[key] = (counters[key] ?? 0) + n }
  const echoes = new EchoWindow(ECHO_WINDOW_MS)
  const replyRoutes = new Map<string, (term: Term) => void>()
  let lastRefusalLog = 0

  const groupSocket = await bindGroupSocket(options)
  const privateSocket = await bindPrivateSocket(options)
  const privateAddress = privateSocket.address()
  const pacer = new DatagramPacer(privateSocket, options.sendRate)

  // Two batches overlap: the engine reads the next while this one's changes are being stored.
  let dispatching: Promise<void> = Promise.resolve()
  const inbound = new SerialBatcher<{ text: string, from: RemoteInfo }>(MAX_ENGINE_BATCH, async (items) => {
    const results = await codec.receiveUdp(items.map(i => i.text))
    const previous = dispatching
    dispatching = previous.then(async () => { await dispatchResults(results, items) })
      .catch((err: Error) => { log.error(`udp receive failed: ${err.message}`) })
    await previous
  }, err => log.error(`udp receive failed: ${err.message}`))

  /**
   * Changes are stored before anything of their batch goes on: a reply says a change is stored,
   * and a message that followed a change reaches the network after it.
   */
  async function dispatchResults (results: UdpReceiveResult[], items: Array<{ from: RemoteInfo }>): Promise<void> {
    if (results.some(result => 'kind' in result && result.kind === 'change')) await components.knowledge?.settled()
    results.forEach((result, i) => {
      if (!('kind' in result)) refuse(result.error, items[i].from)
      else if (result.kind === 'change') changed(result, items[i].from)
      else dispatch(result, items[i].from)
    })
  }

  type Outgoing = { message: UdpMessage, to: { address: string, port: number } }
  const emit = (text: string, to: Outgoing['to']): void => {
    if (utf8Length(text) > options.maxDatagramBytes) { count('unsendable_too-large'); return }
    if (to.address === options.group) echoes.add(text)
    pacer.send(text, to)
    count('datagrams_out')
  }
  const outbound = new SerialBatcher<Outgoing>(MAX_ENGINE_BATCH, async (items) => {
    let texts: string[]
    try {
      texts = await codec.encodeUdp(items.map(i => i.message))
    } catch {
      // One term that cannot be written (say, a cyclic answer) must not cost the others: retry
      // one by one, and count what still fails.
      for (const item of items) {
        await codec.encodeUdp([item.message]).then(([text]) => { emit(text, item.to) }, (err: Error) => {
          count(`unsendable_${err.name}`)
        })
      }
      return
    }
    texts.forEach((text, i) => { emit(text, items[i].to) })
  }, err => log.error(`udp encode failed: ${err.message}`))

  groupSocket.on('message', (bytes, from) => { receive(bytes, from, 'group') })
  privateSocket.on('message', (bytes, from) => { receive(bytes, from, 'private') })

  peer.onMessage((event) => {
    outbound.push({ message: { kind: 'send', term: event.term }, to: groupAddress() })
  })
  peer.onRequest((event, reply) => {
    const key = eventIdHex(event.id)
    replyRoutes.set(key, reply)
    setTimeout(() => replyRoutes.delete(key), event.timeout)
    outbound.push({ message: { kind: 'request', id: bridgeRequestId(key), term: event.term }, to: groupAddress() })
  })

  function groupAddress (): { address: string, port: number } {
    return { address: options.group, port: options.port }
  }

  function receive (bytes: Buffer, from: RemoteInfo, socket: 'group' | 'private'): void {
    count('datagrams_in')
    if (from.address === privateAddress.address && from.port === privateAddress.port) { count('own_echo'); return }
    if (bytes.length > options.maxDatagramBytes) { refuse('too-large', from); return }
    if (isCborPayload(bytes)) { receiveCbor(bytes, from); return }
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      refuse('bad-utf8', from)
      return
    }
    if (!text.startsWith(PROLOG_PREFIX)) { refuse('unknown-format', from); return }
    if (socket === 'group' && echoes.has(text)) { count('bridge_echo'); return }
    inbound.push({ text, from })
  }

  function receiveCbor (bytes: Uint8Array, from: RemoteInfo): void {
    let event
    try {
      event = decodeEvent(bytes)
    } catch (err) {
      refuse(`cbor-${(err as { reason?: string }).reason ?? 'invalid'}`, from)
      return
    }
    if (event.kind === 'message') dispatch({ kind: 'send', term: event.term }, from)
    else if (event.kind === 'request') void answerCbor(event, from)
    else refuse('cbor-kind', from)
  }

  /** A CBOR request is answered with CBOR reply events, one datagram each. */
  async function answerCbor (request: RequestEvent, from: RemoteInfo): Promise<void> {
    count('accepted_cbor_request')
    for await (const term of peer.request(request.term, { timeout: request.timeout })) {
      const reply = encodeEvent({ kind: 'reply', id: newEventId(), hlc: { wall: Date.now(), counter: 0 }, origin: peer.origin, request: request.id, term })
      privateSocket.send(reply, from.port, from.address)
      count('datagrams_out')
    }
  }

  function dispatch (message: UdpMessage, from: RemoteInfo): void {
    count(`accepted_${message.kind}`)
    switch (message.kind) {
      case 'send':
        peer.send(message.term)
        return
      case 'request':
        if (bridgeRequestKey(message.id) !== undefined) count('bridge_request')
        else void answer(message.id, message.term, from)
        return
      case 'reply': {
        const key = bridgeRequestKey(message.id)
        const route = key === undefined ? undefined : replyRoutes.get(key)
        if (route === undefined) count('unmatched_reply')
        else route(message.term)
      }
    }
  }

  /**
   * A change of a shared predicate (the kb convention, docs/kb.md: not a message). A stock swipl
   * sends a change whose clause has variables as a request, never as `send/1`: the reply to
   * `broadcast_request(udp(S, retract(likes(X, y))))` is the change as done (X bound).
   */
  function changed (change: UdpChange, from: RemoteInfo): void {
    count(`accepted_${change.via}`)
    if (change.error !== undefined) {
      count('refused_knowledge_change')
      log.warn(`refused a change of the shared knowledge from the group: ${change.error}`)
      return
    }
    count('knowledge_changes')
    if (change.reply !== undefined) outbound.push({ message: { kind: 'reply', ...change.reply }, to: { address: from.address, port: from.port } })
  }

  async function answer (id: Term, term: Term, from: RemoteInfo): Promise<void> {
    for await (const reply of answers(term)) {
      outbound.push({ message: { kind: 'reply', id, term: reply }, to: { address: from.address, port: from.port } })
    }
  }

  /** `network(G)` asks every peer to run G, as Prolog's network/1 does; other terms go to the handlers. */
  async function * answers (term: Term): AsyncGenerator<Term> {
    if (!isCompound(term, 'network', 1)) return yield * peer.request(term, { timeout: options.requestTimeout })
    count('network_query')
    for await (const instance of peer.query(term.args[0], { timeout: options.requestTimeout })) yield { functor: 'network', args: [instance] }
  }

  function refuse (reason: string, from: RemoteInfo): void {
    count(`refused_${reason}`)
    const now = Date.now()
    if (now - lastRefusalLog >= REFUSAL_LOG_INTERVAL_MS) {
      lastRefusalLog = now
      const refused = Object.entries(counters).filter(([k]) => k.startsWith('refused_')).map(([k, v]) => `${k.slice(8)} ${v}`)
      log.warn(`refused a datagram from ${from.address}:${from.port} (${reason}); refused so far: ${refused.join(', ')}`)
    }
  }

  return {
    counters,
    privateAddress,
    stop: async () => {
      await Promise.all([groupSocket, privateSocket].map(async s => new Promise<void>(resolve => { s.close(() => { resolve() }) })))
    }
  }
}

async function bindGroupSocket (options: Required<UdpBridgeInit>): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  await bind(socket, options.port, undefined, `the group port ${options.port}`)
  socket.addMembership(options.group, options.interface)
  // A stock swipl sends a burst of 1,000 datagrams in about 10 ms; the default buffer (about 350
  // small datagrams) overflows whenever the event loop is busy that long. The kernel caps this
  // at net.core.rmem_max.
  socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES)
  return socket
}

async function bindPrivateSocket (options: Required<UdpBridgeInit>): Promise<Socket> {
  const socket = createSocket({ type: 'udp4' })
  await bind(socket, 0, options.interface, `a socket on ${options.interface}`)
  socket.setMulticastInterface(options.interface)
  // TTL 1: datagrams to the group never cross a router.
  socket.setMulticastTTL(1)
  socket.setMulticastLoopback(true)
  return socket
}

async function bind (socket: Socket, port: number, address: string | undefined, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => { reject(new Error(`cannot bind ${what}: ${err.message}`)) })
    socket.bind(port, address, () => { resolve() })
  })
  socket.on('error', () => {})
}

/** The id of a request a bridge forwards into its group: `p2p_request("<event id hex>")`. */
function bridgeRequestId (key: string): Term {
  return { functor: 'p2p_request', args: [key] }
}

function bridgeRequestKey (id: Term): string | undefined {
  return isCompound(id, 'p2p_request', 1) && typeof id.args[0] === 'string' ? id.args[0] : undefined
}

/**
 * Collects items pushed in one turn of the event loop and hands them to `process` in batches of
 * at most `max`; the next batch starts only when the previous one is done, so order is kept.
 */
class SerialBatcher<T> {
  private readonly queue: T[] = []
  private running = false

  constructor (private readonly max: number, private readonly process: (items: T[]) => Promise<void>, private readonly onError: (err: Error) => void) {}

  push (item: T): void {
    this.queue.push(item)
    if (!this.running) {
      this.running = true
      setImmediate(() => { void this.drain() })
    }
  }

  private async drain (): Promise<void> {
    while (this.queue.length > 0) {
      const items = this.queue.splice(0, this.max)
      await this.process(items).catch(this.onError)
    }
    this.running = false
  }
}

/** Sends datagrams at most `rate` per second on average, in bursts of at most SEND_BURST. */
class DatagramPacer {
  private readonly queue: Array<{ text: string, to: { address: string, port: number } }> = []
  private draining = false

  constructor (private readonly socket: Socket, private readonly rate: number) {}

  send (text: string, to: { address: string, port: number }): void {
    this.queue.push({ text, to })
    if (!this.draining) {
      this.draining = true
      this.drain()
    }
  }

  private drain (): void {
    const batch = this.queue.splice(0, SEND_BURST)
    if (batch.length === 0) {
      this.draining = false
      return
    }
    for (const { text, to } of batch) this.socket.send(text, to.port, to.address)
    // The burst just sent counts against the rate before the next one may go.
    setTimeout(() => { this.drain() }, Math.ceil(batch.length * 1000 / this.rate))
  }
}

/** Texts seen in the last `windowMs`, forgotten in whole generations so lookups stay O(1). */
class EchoWindow {
  private current = new Set<string>()
  private previous = new Set<string>()
  private rotatedAt = Date.now()

  constructor (private readonly windowMs: number) {}

  add (text: string): void {
    this.rotate()
    this.current.add(text)
  }

  has (text: string): boolean {
    this.rotate()
    return this.current.has(text) || this.previous.has(text)
  }

  private rotate (): void {
    const now = Date.now()
    if (now - this.rotatedAt < this.windowMs) return
    this.previous = now - this.rotatedAt < 2 * this.windowMs ? this.current : new Set()
    this.current = new Set()
    this.rotatedAt = now
  }
}

function utf8Length (text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
