/**
 * The node peer: a Node.js member of the network. It dials the signallers (and redials when a
 * link drops), runs the engine, and bridges a local UDP multicast group to the network.
 */
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { eventTopic } from '../core/net/constants.ts'
import { createEventChannel } from '../core/net/event-channel.ts'
import { peerGossipOptions } from '../core/net/gossip-options.ts'
import { deriveKey } from '../core/net/identity.ts'
import { describeAddress, keepConnected } from '../core/net/redial.ts'
import { createClock } from '../core/kb/clock.ts'
import { Replica } from '../core/kb/replica.ts'
import { createKnowledge } from '../core/knowledge.ts'
import { createSync, syncProtocol } from '../core/net/sync.ts'
import { createPeer } from '../core/peer.ts'
import { apartVariables, atom, compound, isCompound, variable } from '../core/wire/term.ts'
import { openEventStore } from '../core/store/event-store.ts'
import { createNodeEngine } from './engine-host.ts'
import { createUdpBridge } from './udp-bridge.ts'
import type { EventChannel } from '../core/net/event-channel.ts'
import type { Identity } from '../core/net/identity.ts'
import type { PeersFile } from '../core/net/peers.ts'
import type { Knowledge } from '../core/knowledge.ts'
import type { Sync } from '../core/net/sync.ts'
import type { Peer } from '../core/peer.ts'
import type { Term } from '../core/wire/term.ts'
import type { Log } from '../node/log.ts'
import type { KnowledgeOutcome, UdpBridge, UdpBridgeInit } from './udp-bridge.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

export interface NodePeerInit {
  identity: Identity
  peers: PeersFile
  /** Names this node peer among those of one identity; its key is derived from it. @default 'default' */
  name?: string
  /** Where the durable replica is kept (a directory). */
  dataDir: string
  /** A program of the peer's own to load into its engine (not sandboxed). */
  program?: { file: string, text: string }
  /** The UDP bridge's settings; `false` runs no bridge. */
  udp?: UdpBridgeInit | false
  log: Log
}

export interface NodePeer {
  readonly libp2p: Libp2p<{ pubsub: GossipSub }>
  readonly peer: Peer
  readonly channel: EventChannel
  readonly knowledge: Knowledge
  readonly sync: Sync
  readonly bridge?: UdpBridge
  stop (): Promise<void>
}

export async function createNodePeer (init: NodePeerInit): Promise<NodePeer> {
  const { log } = init
  const stopping = new AbortController()
  const libp2p = await createLibp2p({
    privateKey: await deriveKey(init.identity, `node-peer/${init.name ?? 'default'}`),
    transports: [webSockets({ bufferedAmountPollInterval: 5 })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(peerGossipOptions())
    }
  })
  const origin = libp2p.peerId.toString()
  const channel = createEventChannel({ pubsub: libp2p.services.pubsub, peerId: libp2p.peerId }, { topic: eventTopic(init.identity.network) })
  const store = await openEventStore(join(init.dataDir, 'events'))
  const replica = new Replica()
  const clock = createClock(Date.now)
  // The engine reports to the knowledge and the peer, which need the engine: bound once all exist.
  let peer: Peer | undefined
  let knowledge: Knowledge | undefined
  const engine = await createNodeEngine({
    onPublish: (term) => peer?.send(term),
    onKbChange: (change) => knowledge?.local(change),
    onNetworkQuery: (goal, options) => peer?.query(goal, options) ?? [],
    onRestart: async (reason) => {
      log.warn(`engine restarted (${reason}); giving it the shared knowledge again`)
      await knowledge?.rematerialise()
    }
  })
  let sync: Sync | undefined
  knowledge = createKnowledge({
    origin,
    clock,
    replica,
    store,
    engine,
    channel,
    onGap: () => { void sync?.pullAll() },
    onError: (err) => { log.error(`knowledge: ${err.message}`) }
  })
  await knowledge.start()
  if (init.program !== undefined) {
    await engine.consult(init.program.text, { source: init.program.file }).catch((err: Error) => {
      throw new Error(`cannot load ${init.program?.file}: ${err.message}`)
    })
  }
  const known = knowledge
  peer = createPeer({
    origin,
    channel,
    engine,
    clock,
    onKbEvents: (events) => { void known.remote(events) },
    onError: (err) => { log.warn(`engine: ${err.message}`) }
  })
  sync = await createSync(libp2p, {
    vector: () => replica.vector(),
    missing: (remote) => replica.missing(remote),
    accept: async (events) => known.remote(events)
  }, {
    protocol: syncProtocol(init.identity.network),
    onError: (from, err) => { log.warn(`sync with ${from} failed: ${err.message}`) }
  })
  const updateKnowledge = async (changes: Term[]): Promise<KnowledgeOutcome[]> => {
    const apart = apartVariables(changes)
    const goal = compound(':', atom('p2p_kb'), compound('kb_update_all', apart.terms, variable(apart.next)))
    for await (const answer of engine.query(goal, { sandbox: false })) {
      if (answer.status === 'error') throw answer.error
      if (answer.status === 'success') {
        // Applied means stored: what the engine reported is on disk before the caller acknowledges.
        await known.settled()
        return (answer.bindings[String(apart.next)] as Term[]).map(toOutcome)
      }
    }
    throw new Error('kb_update_all/2 failed')
  }
  const bridge = init.udp === false ? undefined : await createUdpBridge({ peer, codec: engine, updateKnowledge, log }, init.udp)

  keepConnected({
    libp2p,
    addresses: init.peers.signallers,
    signal: stopping.signal,
    onDown: (address, err, retryInMs) => {
      log.error(`cannot reach signaller ${describeAddress(address)} (${err.message}): is it running (npm run signaller, or docker-compose-signaller.yml up)? retrying in ${retryInMs} ms and on`)
    },
    onUp: (address) => { log.info(`signaller ${describeAddress(address)} reached again`) }
  })
  libp2p.addEventListener('peer:connect', (evt) => { log.info(`connected to ${evt.detail.toString()}`) })
  libp2p.addEventListener('peer:disconnect', (evt) => { log.info(`disconnected from ${evt.detail.toString()}`) })

  return {
    libp2p,
    peer,
    channel,
    knowledge,
    sync,
    bridge,
    stop: async () => {
      stopping.abort()
      await bridge?.stop()
      await known.settled()
      await sync?.stop()
      channel.stop()
      await libp2p.stop()
      await engine.close()
      await store.close()
    }
  }
}

function toOutcome (outcome: Term): KnowledgeOutcome {
  if (isCompound(outcome, 'error', 1) && typeof outcome.args[0] === 'string') return { error: outcome.args[0] }
  if (isCompound(outcome, 'applied', 1)) return { applied: outcome.args[0] }
  return 'not-shared'
}
