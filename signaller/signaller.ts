/**
 * The signaller: the public libp2p node that browsers and node peers dial first.
 *
 * It listens on WebSockets (TLS when a certificate is given), holds circuit-relay-v2 reservations
 * so that browsers can signal WebRTC to each other through it, and takes part in gossipsub as the
 * hub of the star: it subscribes to the network's topic (a relay that does not subscribe does not
 * forward), validates every batch and forwards it to every peer. It keeps a durable replica of
 * the shared knowledge (events only: no Prolog runs here) and serves the sync protocol, so a peer
 * that joins while every other peer is away still catches up. It also forwards the browsers'
 * announcements of their WebRTC addresses (core/net/discovery.ts), by which they find each other.
 */
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { discoveryTopic, eventTopic } from '../core/net/constants.ts'
import { validateAnnouncement } from '../core/net/discovery.ts'
import { createEventChannel } from '../core/net/event-channel.ts'
import { hubGossipOptions } from '../core/net/gossip-options.ts'
import { deriveKey } from '../core/net/identity.ts'
import { createSync, syncProtocol } from '../core/net/sync.ts'
import { createClock } from '../core/kb/clock.ts'
import { Replica } from '../core/kb/replica.ts'
import { createKnowledge } from '../core/knowledge.ts'
import { openEventStore } from '../core/store/event-store.ts'
import { isKbEvent } from '../core/wire/event.ts'
import type { Knowledge } from '../core/knowledge.ts'
import type { EventChannel } from '../core/net/event-channel.ts'
import type { Sync } from '../core/net/sync.ts'
import type { KbEvent } from '../core/wire/event.ts'
import type { Identity } from '../core/net/identity.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

export interface SignallerInit {
  identity: Identity
  /** Where the replica of the shared knowledge is kept (a directory). */
  dataDir: string
  /** @default '0.0.0.0' */
  host?: string
  /** @default 9999 */
  port?: number
  /** PEM certificate and key: listen on wss instead of ws. */
  tls?: { cert: string, key: string }
  /** Addresses to announce instead of the listening ones, e.g. `/dns4/example.org/tcp/443/wss`. */
  announce?: string[]
  /** @default 512 */
  maxReservations?: number
}

export interface Signaller {
  readonly libp2p: Libp2p<{ pubsub: GossipSub }>
  readonly channel: EventChannel
  readonly knowledge: Knowledge
  readonly sync: Sync
  readonly topic: string
  stop (): Promise<void>
}

export const SIGNALLER_DEFAULTS = { host: '0.0.0.0', port: 9999, maxReservations: 512 } as const

export async function createSignaller (init: SignallerInit): Promise<Signaller> {
  const host = init.host ?? SIGNALLER_DEFAULTS.host
  const port = init.port ?? SIGNALLER_DEFAULTS.port
  const protocol = init.tls === undefined ? 'ws' : 'wss'
  const libp2p = await createLibp2p({
    privateKey: await deriveKey(init.identity, 'signaller'),
    addresses: {
      listen: [`/ip4/${host}/tcp/${port}/${protocol}`],
      announce: init.announce
    },
    transports: [webSockets({
      https: init.tls,
      // Polling a full socket every 500 ms (the default) stalls bursts; 5 ms keeps them moving.
      bufferedAmountPollInterval: 5
    })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: 1024,
      // Browsers and node peers of one host arrive from one IP, many within a second.
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 128
    },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({
        reservations: { maxReservations: init.maxReservations ?? SIGNALLER_DEFAULTS.maxReservations }
      }),
      pubsub: gossipsub(hubGossipOptions())
    }
  })
  const topic = eventTopic(init.identity.network)
  const channel = createEventChannel({ pubsub: libp2p.services.pubsub, peerId: libp2p.peerId }, { topic })
  // Browsers announce their WebRTC addresses there (core/net/discovery.ts); a hub forwards only
  // the topics it subscribes to.
  const discovery = discoveryTopic(init.identity.network)
  libp2p.services.pubsub.topicValidators.set(discovery, (_peer, message) => validateAnnouncement(message))
  libp2p.services.pubsub.subscribe(discovery)
  const store = await openEventStore(join(init.dataDir, 'events'))
  const replica = new Replica()
  let sync: Sync | undefined
  const knowledge = createKnowledge({
    origin: libp2p.peerId.toString(),
    clock: createClock(Date.now),
    replica,
    store,
    onGap: () => { void sync?.pullAll() }
  })
  await knowledge.start()
  channel.onBatch((batch) => {
    const kb = batch.events.filter(isKbEvent) as KbEvent[]
    // After gossipsub has forwarded the batch: it forwards once this listener returns, and work
    // queued here as microtasks would run first.
    if (kb.length > 0) setImmediate(() => { void knowledge.remote(kb) })
  })
  sync = await createSync(libp2p, {
    vector: () => replica.vector(),
    missing: (remote) => replica.missing(remote),
    accept: async (events) => knowledge.remote(events)
  }, { protocol: syncProtocol(init.identity.network) })
  return {
    libp2p,
    channel,
    knowledge,
    sync,
    topic,
    stop: async () => {
      await sync?.stop()
      channel.stop()
      await libp2p.stop()
      await knowledge.settled()
      await store.close()
    }
  }
}
