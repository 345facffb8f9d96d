/**
 * The browser peer: this page as a member of the network. The same member as a node peer
 * (core/member.ts: event channel, replica, peer, sync) with the browser's own parts:
 *
 * - libp2p with WebSockets to the signallers of the page's config (web-config.ts), a
 *   circuit-relay-v2 reservation on them (`/p2p-circuit`), WebRTC (`/webrtc`) for direct links to
 *   other browsers, noise, yamux, identify, ping and gossipsub. Browsers find each other through
 *   announcements on a gossipsub topic (core/net/discovery.ts) and dial each other over WebRTC,
 *   signalled through the relay: gossipsub does not run on the limited relayed connection.
 * - its key and its event store (IndexedDB) belong to a slot of this browser profile
 *   (key-store.ts): a reload keeps the peer id and the knowledge, a second tab is a second peer.
 * - the engine: SWI-Prolog in a Web Worker (engine-host.ts).
 *
 * The stored knowledge is back in the engine before the first dial, so a page shows what it knew
 * even while no signaller can be reached; the sync protocol then brings what it missed.
 * The signallers are kept connected with backoff (core/net/redial.ts); each one's state is
 * reported to onStatus with an error a user can act on.
 *
 * @example
 * ```ts
 * const peer = await createBrowserPeer({ config: await fetchWebConfig(), engine: { onOutput: text => { show(text) } } })
 * peer.onStatus(statuses => { console.log(statuses) })
 * for await (const answer of peer.engine.queryText('likes(X, Y)')) console.log(answer)
 * ```
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { isPrivate } from '@libp2p/utils'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { WebSockets } from '@multiformats/multiaddr-matcher'
import { createLibp2p } from 'libp2p'
import { createMember } from '../core/member.ts'
import { discoveryTopic } from '../core/net/constants.ts'
import { startDiscovery } from '../core/net/discovery.ts'
import { peerGossipOptions } from '../core/net/gossip-options.ts'
import { describeAddress, keepConnected } from '../core/net/redial.ts'
import { openEventStore } from '../core/store/event-store.ts'
import { createBrowserEngine } from './engine-host.ts'
import { claimSlot } from './key-store.ts'
import { fetchWebConfig } from './web-config.ts'
import type { EngineInit } from '../core/engine/engine.ts'
import type { Member, MemberEngineHooks, MemberLog } from '../core/member.ts'
import type { Discovery } from '../core/net/discovery.ts'
import type { PredicateIndicator } from '../core/engine/protocol.ts'
import type { KbEvent, WireEvent } from '../core/wire/event.ts'
import type { LinkTransport, LoggedEvent, PeerLink, PeerView, SharedPredicate, SignallerStatus } from './peer-view.ts'
import type { WebConfig } from './web-config.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

declare global {
  interface Window {
    /** The page's peer, once startPeer() has started it: for the tests and the curious. */
    p2pPeer?: BrowserPeer
  }
}

/** What the page may set of the engine; the member sets the network hooks. */
export type BrowserEngineOptions = Omit<EngineInit, keyof MemberEngineHooks> & Pick<EngineInit, 'onRestart'>

export interface BrowserPeerInit {
  config: WebConfig
  engine?: BrowserEngineOptions
  /** Names in browser storage: prefix of the key's localStorage item, the slot locks and the IndexedDB database. @default 'p2p-prolog' */
  storage?: { prefix?: string }
  /** @default the browser console */
  log?: MemberLog
}

export interface BrowserPeer extends PeerView {
  readonly member: Member
  readonly libp2p: Libp2p<{ pubsub: GossipSub }>
  /** This tab's slot: which key and store it uses (key-store.ts). */
  readonly slot: number
  readonly discovery: Discovery
  /** Stops dialing, the member (engine, store) and libp2p. */
  stop (): Promise<void>
}

/** Events a listener added late is given first, so that a panel shows what came before it. */
const EVENT_HISTORY = 200
/** How often each connection is pinged (libp2p's connection monitor) for links()' round trips. */
const PING_INTERVAL_MS = 5_000
/**
 * How long a ping may take before the monitor closes the connection (libp2p: 5 s at least). A
 * ping over WebRTC opens a data channel first, and a page on a busy machine can take longer than
 * that: a test saw the pages' direct link closed ("Close called") while the machine was loaded.
 * A dead link still goes: the peer connection's own state says so too.
 */
const PING_MIN_TIMEOUT_MS = 15_000

const consoleLog: MemberLog = {
  warn: (text) => { console.warn(text) },
  error: (text) => { console.error(text) }
}

export async function createBrowserPeer (init: BrowserPeerInit): Promise<BrowserPeer> {
  const { config } = init
  const log = init.log ?? consoleLog
  const stopping = new AbortController()
  const slot = await claimSlot({ network: config.network, prefix: init.storage?.prefix })
  const signallerIds = new Set(config.signallers.map(address => address.getComponents().at(-1)?.value))
  /** A signaller itself, or a circuit through one: dialable over ws:// and on private addresses too. */
  const viaSignaller = (address: Multiaddr): boolean => {
    const first = address.getComponents().find(c => c.name === 'p2p')
    return first?.value !== undefined && signallerIds.has(first.value)
  }

  const libp2p = await createLibp2p({
    privateKey: slot.privateKey,
    addresses: { listen: ['/p2p-circuit', '/webrtc'] },
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: { iceServers: config.iceServers } }),
      circuitRelayTransport()
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // The browser default refuses ws:// and private addresses (libp2p's connection-gater.browser):
    // the signallers of the config are trusted whatever their address (localhost in development).
    connectionGater: {
      denyDialMultiaddr: (address) => viaSignaller(address) ? false : WebSockets.matches(address) || isPrivate(address)
    },
    connectionManager: {
      // A WebRTC dial (signalling over the relay, ICE, DTLS, SCTP, then noise on a data channel)
      // can take longer than libp2p's 6 s per address on a busy machine or a slow network.
      addressDialTimeout: 8_000,
      dialTimeout: 30_000
    },
    connectionMonitor: { pingInterval: PING_INTERVAL_MS, pingTimeout: { minTimeout: PING_MIN_TIMEOUT_MS } },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(peerGossipOptions())
    }
  })

  const engineOptions = init.engine ?? {}
  // Both need the member, which calls them while it starts: set once it exists.
  let onDeclare: (predicates: readonly PredicateIndicator[]) => void = () => {}
  let onCaughtUp: (events: readonly KbEvent[]) => void = () => {}
  let member: Member
  try {
    member = await createMember({
      libp2p,
      network: config.network,
      store: await openEventStore(slot.store),
      startEngine: async (hooks) => await createBrowserEngine({
        ...engineOptions,
        ...hooks,
        onRestart: async (reason) => {
          await engineOptions.onRestart?.(reason)
          await hooks.onRestart(reason)
        },
        onDeclare: (predicates) => {
          engineOptions.onDeclare?.(predicates)
          onDeclare(predicates)
        }
      }),
      log,
      onCaughtUp: (events) => { onCaughtUp(events) }
    })
  } catch (err) {
    await libp2p.stop()
    slot.release()
    throw err
  }

  // The event log: what this page publishes and every batch that reaches it.
  const history: LoggedEvent[] = []
  const eventListeners = new Set<(event: LoggedEvent) => void>()
  const record = (logged: LoggedEvent): void => {
    history.push(logged)
    if (history.length > EVENT_HISTORY) history.shift()
    for (const listener of eventListeners) listener(logged)
  }
  member.channel.onPublish(event => { record(toLogged(event, true)) })
  member.channel.onBatch(batch => { for (const event of batch.events) record(toLogged(event, false)) })
  onCaughtUp = (events) => { record(caughtUp(events)) }

  // Shared predicates stay listed once declared or seen, with 0 clauses when they have none.
  const seenPredicates = new Map<string, SharedPredicate>()
  const knowledgeListeners = new Set<() => void>()
  const countPredicates = (): void => {
    for (const p of seenPredicates.values()) p.clauses = 0
    for (const p of member.knowledge.predicates()) seenPredicates.set(`${p.name}/${p.arity}`, { ...p })
  }
  onDeclare = (predicates) => {
    for (const { name, arity } of predicates) {
      const key = `${name}/${arity}`
      if (!seenPredicates.has(key)) seenPredicates.set(key, { name, arity, clauses: 0 })
    }
    for (const listener of knowledgeListeners) listener()
  }
  const shared = (): SharedPredicate[] => {
    countPredicates()
    return [...seenPredicates.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : a.arity - b.arity).map(p => ({ ...p }))
  }

  // Signaller statuses.
  const statuses = new Map<string, SignallerStatus>(config.signallers.map(a => [a.toString(), { state: 'connecting', address: describeAddress(a) }]))
  const statusListeners = new Set<(statuses: readonly SignallerStatus[]) => void>()
  const setStatus = (address: Multiaddr, status: SignallerStatus): void => {
    statuses.set(address.toString(), status)
    const all = [...statuses.values()]
    for (const listener of statusListeners) listener(all)
  }
  keepConnected({
    libp2p,
    addresses: config.signallers,
    signal: stopping.signal,
    onConnected: (address) => { setStatus(address, { state: 'up', address: describeAddress(address) }) },
    onFailed: (address, err, retryInMs) => {
      setStatus(address, { state: 'down', address: describeAddress(address), error: describeFailure(address, err), retryInMs })
    },
    onDown: (address, err) => { log.warn(`${describeFailure(address, err)} (${messageOf(err)})`) }
  })
  libp2p.addEventListener('peer:disconnect', (evt) => {
    if (stopping.signal.aborted) return
    for (const address of config.signallers) {
      if (address.getComponents().at(-1)?.value === evt.detail.toString()) setStatus(address, { state: 'connecting', address: describeAddress(address) })
    }
  })

  const discovery = startDiscovery({
    libp2p,
    topic: discoveryTopic(config.network),
    dialable: viaSignaller,
    onError: (peer, err) => { log.warn(`no WebRTC link to ${peer} yet: ${messageOf(err)}`) }
  })

  return {
    id: libp2p.peerId.toString(),
    engine: member.engine,
    member,
    libp2p,
    slot: slot.slot,
    discovery,
    onEvent: (listener) => {
      for (const event of history) listener(event)
      eventListeners.add(listener)
      return () => { eventListeners.delete(listener) }
    },
    onStatus: (listener) => {
      statusListeners.add(listener)
      listener([...statuses.values()])
      return () => { statusListeners.delete(listener) }
    },
    links: async () => linksOf(libp2p.getConnections(), signallerIds),
    shared,
    onKnowledge: (listener) => {
      knowledgeListeners.add(listener)
      const off = member.knowledge.onChange(listener)
      return () => { knowledgeListeners.delete(listener); off() }
    },
    stop: async () => {
      stopping.abort()
      discovery.stop()
      await member.stop()
      await libp2p.stop()
      slot.release()
    }
  }
}

/**
 * The page's peer, started from `./p2p-config.json`; also `window.p2pPeer`, for the tests and
 * the curious. The console attaches to `peer.engine`.
 */
export async function startPeer (onOutput: EngineInit['onOutput'], engine: Omit<BrowserEngineOptions, 'onOutput'> = {}): Promise<BrowserPeer> {
  const peer = await createBrowserPeer({ config: await fetchWebConfig(), engine: { ...engine, onOutput } })
  window.p2pPeer = peer
  return peer
}

function toLogged (event: WireEvent, own: boolean): LoggedEvent {
  const at = Date.now()
  const base = { kind: event.kind, origin: event.origin, own, at, latencyMs: own ? 0 : at - event.hlc.wall }
  switch (event.kind) {
    case 'message':
    case 'request':
    case 'reply':
      return { ...base, term: event.term }
    case 'query':
      return { ...base, term: event.goal }
    case 'assert':
      return { ...base, term: event.clause }
    case 'retract':
      return { ...base, count: event.ids.length }
    case 'cancel':
      return base
  }
}

/** One entry for what a catch-up brought: a sync after a reload can bring thousands of events. */
function caughtUp (events: readonly KbEvent[]): LoggedEvent {
  const at = Date.now()
  const asserts = events.filter(event => event.kind === 'assert').length
  const oldest = events.reduce((min, event) => Math.min(min, event.hlc.wall), Infinity)
  return {
    kind: 'sync',
    origin: events[0].origin,
    own: false,
    at,
    latencyMs: at - oldest,
    caughtUp: { asserts, retracts: events.length - asserts, origins: new Set(events.map(event => event.origin)).size }
  }
}

const TRANSPORT_RANK: Record<LinkTransport, number> = { webrtc: 0, relay: 1, websocket: 2, other: 3 }

export function transportOf (connection: Pick<Connection, 'remoteAddr'>): LinkTransport {
  const names = connection.remoteAddr.getComponents().map(c => c.name)
  if (names.includes('webrtc') || names.includes('webrtc-direct')) return 'webrtc'
  if (names.includes('p2p-circuit')) return 'relay'
  if (names.includes('ws') || names.includes('wss')) return 'websocket'
  return 'other'
}

function linksOf (connections: readonly Connection[], signallerIds: ReadonlySet<string | undefined>): PeerLink[] {
  const byPeer = new Map<string, Connection[]>()
  for (const connection of connections) {
    if (connection.status !== 'open') continue
    const id = connection.remotePeer.toString()
    byPeer.set(id, [...(byPeer.get(id) ?? []), connection])
  }
  return [...byPeer].map(([id, open]) => {
    const ranked = open.map(c => ({ c, t: transportOf(c) })).sort((a, b) => TRANSPORT_RANK[a.t] - TRANSPORT_RANK[b.t])
    return {
      id,
      role: signallerIds.has(id) ? 'signaller' : 'peer',
      transports: [...new Set(ranked.map(r => r.t))],
      rttMs: ranked.find(r => r.c.rtt !== undefined)?.c.rtt
    }
  })
}

/** Why a signaller cannot be reached, in words that say what to do. */
function describeFailure (address: Multiaddr, err: Error): string {
  const where = describeAddress(address)
  if (typeof location !== 'undefined' && location.protocol === 'https:' && where.startsWith('ws:')) {
    return `cannot reach signaller ${where}: this page is served over https, and browsers refuse ws:// from it; serve the signaller over wss (a certificate) and rebuild the page`
  }
  if (errorsOf(err).some(e => e.name === 'UnexpectedPeerError')) {
    return `signaller ${where} has another peer id than this page was built with: rebuild the page (npm run build:www) since the identity changed`
  }
  return `cannot reach signaller ${where}: is the signaller running (npm start, or docker-compose-signaller.yml up)?`
}

function errorsOf (err: unknown, depth = 0): Error[] {
  if (!(err instanceof Error) || depth > 4) return []
  const nested = err instanceof AggregateError ? err.errors.flatMap(e => errorsOf(e, depth + 1)) : []
  return [err, ...nested, ...errorsOf(err.cause, depth + 1)]
}

function messageOf (err: Error): string {
  return errorsOf(err).map(e => e.message).filter(m => m !== '').join(': ') || err.name
}
