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
import { createMember } from '../core/member.ts'
import { describeAddress, keepConnected } from '../core/net/redial.ts'
import { peerGossipOptions } from '../core/net/gossip-options.ts'
import { deriveKey } from '../core/net/identity.ts'
import { openEventStore } from '../core/store/event-store.ts'
import { createNodeEngine } from './engine-host.ts'
import { createUdpBridge } from './udp-bridge.ts'
import type { Member } from '../core/member.ts'
import type { Identity } from '../core/net/identity.ts'
import type { PeersFile } from '../core/net/peers.ts'
import type { Log } from '../node/log.ts'
import type { UdpBridge, UdpBridgeInit } from './udp-bridge.ts'
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
  readonly member: Member
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
  const store = await openEventStore(join(init.dataDir, 'events'))
  // Dialled before the member exists: the connection and a catch-up run while the engine boots.
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

  const member = await createMember({
    libp2p,
    network: init.identity.network,
    store,
    startEngine: async (hooks) => await createNodeEngine(hooks),
    program: init.program,
    log
  }).catch(async (err: unknown) => {
    stopping.abort()
    await Promise.all([store.close(), libp2p.stop()])
    throw err
  })
  const { engine, peer, knowledge } = member
  const bridge = init.udp === false ? undefined : await createUdpBridge({ peer, codec: engine, knowledge, log }, init.udp)

  return {
    libp2p,
    member,
    bridge,
    stop: async () => {
      stopping.abort()
      await bridge?.stop()
      await member.stop()
      await libp2p.stop()
    }
  }
}
