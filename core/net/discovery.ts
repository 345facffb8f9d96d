/**
 * Discovery of browsers by browsers: how two pages that only know the signaller find each other
 * and open a direct WebRTC connection (gossipsub does not run over the limited relayed one).
 *
 * Each browser announces, on the network's discovery topic (`discoveryTopic()`), the addresses
 * it can be dialed at over WebRTC: `<signaller>/p2p-circuit/webrtc/p2p/<its id>`, which exist once
 * it holds a relay reservation. The signallers subscribe to the topic, so gossipsub carries the
 * announcements across the star. A browser that hears a peer it has no direct connection to
 * dials it; to avoid two crossing dials, the peer with the lower id dials at once, the higher one
 * only if still unconnected after a grace period, and it answers the announcement with one of its
 * own so that a newcomer with a lower id learns of it at once.
 *
 * An announcement is the JSON `{"v":1,"addrs":["/ip4/…/p2p-circuit/webrtc/p2p/<id>", …],"boot":"…"}`,
 * at most MAX_ANNOUNCEMENT_BYTES, in a gossipsub message signed by the announcer (StrictSign): only
 * addresses that end in the signer's own id and match WebRTC are used, so nobody can announce
 * addresses for another peer. `boot` is random per start of the node: a reloaded tab keeps its
 * peer id, and a peer that sees a new boot for an id it is still connected to knows those
 * connections may belong to the page that is gone; it probes each (a ping) and closes the dead
 * ones at once, instead of waiting for them to time out while believing it is linked. Announcements repeat, every MIN_INTERVAL_MS at first and doubling up
 * to MAX_INTERVAL_MS (back to the minimum when the node's addresses change), so a lost one costs
 * only time, and a star of N browsers carries about N²/MAX_INTERVAL deliveries in steady state.
 *
 * Why not @libp2p/pubsub-peer-discovery (12.x supports libp2p 3)? It does the announcing, but
 * libp2p raises `peer:discovery` only for a peer new to the peer store, so the redial of a peer
 * that comes back (a reloaded tab keeps its id) would have to be written here anyway; it also
 * announces before a reservation exists, does not check the record's key against the signer,
 * and has no tie-break.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { byteStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { WebRTC } from '@multiformats/multiaddr-matcher'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export const MAX_ANNOUNCEMENT_BYTES = 4096
const MAX_ADDRESSES = 16
const MAX_BOOT_CHARS = 64
/** A probe of a connection that may be left from a previous start of its peer. */
const PROBE_MS = 2_000
/** libp2p's ping protocol, which @libp2p/ping serves. */
const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32
const MIN_INTERVAL_MS = 2_000
const MAX_INTERVAL_MS = 30_000
/** How long the peer with the higher id leaves the dial to the other one. */
const GRACE_MS = 6_000
const DIAL_TIMEOUT_MS = 30_000
const MAX_RETRY_MS = 30_000
/** At most one answering announcement this often. */
const ANSWER_EVERY_MS = 1_000
/** A peer not heard for this long is no longer dialed. */
const FORGET_MS = 2 * MAX_INTERVAL_MS + 5_000
/** Peers whose dial state is kept; the oldest is forgotten beyond. */
const MAX_TRACKED = 1_000

export interface DiscoveryInit {
  libp2p: Libp2p<{ pubsub: GossipSub }>
  /** `discoveryTopic(network)`. */
  topic: string
  /** May this address be dialed (e.g. it goes through a known signaller)? @default every WebRTC address */
  dialable?: (address: Multiaddr) => boolean
  onError?: (peer: string, err: Error) => void
}

export interface Discovery {
  /** Announcements sent and heard, dials and their outcomes, refusals by reason. */
  readonly counters: Readonly<Record<string, number>>
  /** Announce now (e.g. after the node's addresses changed). */
  announce (): void
  stop (): void
}

export interface Announcement {
  addresses: Multiaddr[]
  /** Random per start of the announcing node. */
  boot: string
}

export function encodeAnnouncement (addresses: readonly Multiaddr[], boot = ''): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, addrs: addresses.map(String), ...(boot === '' ? {} : { boot }) }))
}

/** Throws on anything that is not an announcement. */
export function decodeAnnouncement (bytes: Uint8Array): Announcement {
  if (bytes.byteLength > MAX_ANNOUNCEMENT_BYTES) throw new Error('announcement too large')
  const json: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  if (typeof json !== 'object' || json === null) throw new Error('announcement is not an object')
  const { v, addrs, boot = '' } = json as Record<string, unknown>
  if (v !== 1) throw new Error('unknown announcement version')
  if (!Array.isArray(addrs) || addrs.length > MAX_ADDRESSES || addrs.some(a => typeof a !== 'string')) {
    throw new Error('announcement addrs must be a short list of strings')
  }
  if (typeof boot !== 'string' || boot.length > MAX_BOOT_CHARS) throw new Error('announcement boot must be a short string')
  return { addresses: addrs.map((text: string) => multiaddr(text)), boot }
}

/** The gossipsub validator of the discovery topic, for members that only forward it (signallers). */
export function validateAnnouncement (message: Message): TopicValidatorResult {
  if (message.type !== 'signed') return TopicValidatorResult.Reject
  try {
    decodeAnnouncement(message.data)
    return TopicValidatorResult.Accept
  } catch {
    return TopicValidatorResult.Reject
  }
}

interface PeerState {
  from: PeerId
  /** Its usable addresses, from its last announcement. */
  addresses: Multiaddr[]
  /** When this node began to wait for a link to it (heard it, unconnected). */
  firstHeard: number
  lastHeard: number
  dialing: boolean
  failures: number
  nextDialAt: number
  timer?: ReturnType<typeof setTimeout>
}

/** One ping over this connection; throws when it does not come back (an unsupported protocol is an answer too). */
async function probe (connection: Connection, signal: AbortSignal): Promise<void> {
  let stream: Stream | undefined
  try {
    stream = await connection.newStream(PING_PROTOCOL, { signal })
    const bytes = byteStream(stream)
    const sent = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const [, back] = await Promise.all([bytes.write(sent, { signal }), bytes.read({ bytes: PING_BYTES, signal })])
    if (back.byteLength !== PING_BYTES) throw new Error('short ping answer')
    await stream.close({ signal })
  } catch (err) {
    stream?.abort(err as Error)
    if ((err as Error).name !== 'UnsupportedProtocolError') throw err
  }
}

export function startDiscovery (init: DiscoveryInit): Discovery {
  const { libp2p, topic } = init
  const { pubsub } = libp2p.services
  const self = libp2p.peerId.toString()
  const dialable = init.dialable ?? (() => true)
  const onError = init.onError ?? (() => {})
  const counters: Record<string, number> = {}
  const count = (key: string): void => { counters[key] = (counters[key] ?? 0) + 1 }
  const peers = new Map<string, PeerState>()
  /** The last boot heard from each peer. */
  const boots = new Map<string, string>()
  const boot = Array.from(crypto.getRandomValues(new Uint8Array(8)), b => b.toString(16).padStart(2, '0')).join('')
  let interval = MIN_INTERVAL_MS
  let timer: ReturnType<typeof setTimeout> | undefined
  let lastAnnounced = ''
  let lastAnswer = 0
  let stopped = false

  const ownAddresses = (): Multiaddr[] => libp2p.getMultiaddrs().filter(ma => WebRTC.matches(ma))

  function announce (): void {
    if (stopped) return
    const addresses = ownAddresses()
    if (addresses.length === 0) return // no reservation yet: nothing to dial
    lastAnnounced = addresses.map(String).sort().join(' ')
    pubsub.publish(topic, encodeAnnouncement(addresses.slice(0, MAX_ADDRESSES), boot)).then(
      () => { count('announced') },
      (err: Error) => { count(`announce_failed_${err.name}`) }
    )
  }

  function schedule (): void {
    clearTimeout(timer)
    if (stopped) return
    timer = setTimeout(() => {
      announce()
      interval = Math.min(interval * 2, MAX_INTERVAL_MS)
      schedule()
    }, interval)
  }

  const onSelfUpdate = (): void => {
    const now = ownAddresses().map(String).sort().join(' ')
    if (now === lastAnnounced) return
    interval = MIN_INTERVAL_MS
    announce()
    schedule()
  }

  const directlyConnected = (peer: PeerId): boolean =>
    libp2p.getConnections(peer).some(c => c.status === 'open' && c.limits == null)

  // However it came about (this node's dial or the other's), a direct connection ends the wait:
  // should it drop, the next announcement starts a new grace period, so that the two never dial
  // each other at once.
  const onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    if (evt.detail.limits == null) forget(evt.detail.remotePeer.toString())
  }

  const onMessage = (evt: CustomEvent<Message>): void => {
    const message = evt.detail
    if (message.topic !== topic) return
    if (message.type !== 'signed') { count('refused_unsigned'); return }
    const from = message.from
    if (from.toString() === self) return
    let announcement: Announcement
    try {
      announcement = decodeAnnouncement(message.data)
    } catch {
      count('refused_malformed')
      return
    }
    count('heard')
    const key = from.toString()
    const usable = announcement.addresses.filter(ma => WebRTC.matches(ma) && ma.getComponents().at(-1)?.value === key && dialable(ma))
    if (usable.length === 0) { count('refused_no_usable_address'); return }
    const previous = boots.get(key)
    boots.delete(key) // re-inserted last: the map forgets the peers heard least recently
    boots.set(key, announcement.boot)
    if (boots.size > MAX_TRACKED) boots.delete(boots.keys().next().value as string)
    if (previous !== undefined && previous !== announcement.boot && libp2p.getConnections(from).length > 0) {
      count('rebooted')
      void dropDead(from).then(() => { maybeDial(from, usable) })
      return
    }
    maybeDial(from, usable)
  }

  /** Closes the direct connections to `peer` that do not answer a ping: they were its previous start's. */
  async function dropDead (peer: PeerId): Promise<void> {
    await Promise.all(libp2p.getConnections(peer).filter(c => c.limits == null).map(async (connection) => {
      try {
        await probe(connection, AbortSignal.timeout(PROBE_MS))
      } catch (err) {
        count('dead_closed')
        connection.abort(err as Error)
      }
    }))
    forget(peer.toString())
  }

  /**
   * Dials `from` now, or sets a timer to think again: after the grace period (the higher id), or
   * after the backoff of a failed dial. Progress does not wait for the next announcement, whose
   * interval may have grown to MAX_INTERVAL_MS.
   */
  function maybeDial (from: PeerId, addresses?: Multiaddr[]): void {
    const key = from.toString()
    if (stopped) return
    if (directlyConnected(from)) { forget(key); return }
    const now = Date.now()
    let state = peers.get(key)
    if (state === undefined) {
      if (addresses === undefined) return
      state = { from, addresses, firstHeard: now, lastHeard: now, dialing: false, failures: 0, nextDialAt: 0 }
      peers.set(key, state)
      if (peers.size > MAX_TRACKED) forget(peers.keys().next().value as string)
    }
    if (addresses !== undefined) {
      state.addresses = addresses
      state.lastHeard = now
    } else if (now - state.lastHeard > FORGET_MS) {
      forget(key) // gone quiet: it is away, or it answers no more
      return
    }
    if (state.dialing) return
    if (now < state.nextDialAt) { later(state, state.nextDialAt - now); return }
    if (self > key && now - state.firstHeard < GRACE_MS) {
      // The other one dials; make sure it has heard of this node.
      if (now - lastAnswer >= ANSWER_EVERY_MS) { lastAnswer = now; announce() }
      later(state, GRACE_MS - (now - state.firstHeard))
      return
    }
    dial(state)
  }

  function dial (state: PeerState): void {
    const { from } = state
    const key = from.toString()
    state.dialing = true
    count('dials')
    // Should the other side's dial win meanwhile, this one is not needed: a WebRTC dial whose
    // signalling relay goes away would otherwise hang until its timeout.
    const superseded = new AbortController()
    const onOpen = (evt: CustomEvent<Connection>): void => {
      const { limits, direction, remotePeer } = evt.detail
      if (limits == null && direction === 'inbound' && remotePeer.equals(from)) superseded.abort(new Error('the peer dialed this node first'))
    }
    libp2p.addEventListener('connection:open', onOpen)
    libp2p.dial(state.addresses, { signal: AbortSignal.any([superseded.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) }).then(() => {
      count('dialed')
      forget(key)
    }, (err: Error) => {
      if (superseded.signal.aborted) { count('dial_superseded'); return }
      count('dial_failed')
      state.failures++
      state.nextDialAt = Date.now() + Math.min(MAX_RETRY_MS, MIN_INTERVAL_MS * 2 ** (state.failures - 1))
      onError(key, err)
      later(state, state.nextDialAt - Date.now())
    }).finally(() => {
      state.dialing = false
      libp2p.removeEventListener('connection:open', onOpen)
    })
  }

  function later (state: PeerState, ms: number): void {
    clearTimeout(state.timer)
    state.timer = setTimeout(() => {
      if (peers.get(state.from.toString()) === state) maybeDial(state.from)
    }, Math.max(ms, 50))
  }

  function forget (key: string): void {
    clearTimeout(peers.get(key)?.timer)
    peers.delete(key)
  }


  pubsub.topicValidators.set(topic, (_peer, message) => validateAnnouncement(message))
  pubsub.addEventListener('message', onMessage)
  pubsub.subscribe(topic)
  libp2p.addEventListener('self:peer:update', onSelfUpdate)
  libp2p.addEventListener('connection:open', onConnectionOpen)
  announce()
  schedule()

  return {
    counters,
    announce,
    stop: () => {
      stopped = true
      clearTimeout(timer)
      for (const key of [...peers.keys()]) forget(key)
      libp2p.removeEventListener('self:peer:update', onSelfUpdate)
      libp2p.removeEventListener('connection:open', onConnectionOpen)
      pubsub.removeEventListener('message', onMessage)
      pubsub.topicValidators.delete(topic)
      pubsub.unsubscribe(topic)
    }
  }
}
