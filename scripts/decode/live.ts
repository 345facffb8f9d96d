/**
 * The live monitor: gossipsub traffic travels encrypted (noise), so no capture can show it. This
 * joins the network as a member that only listens: it dials the signallers of the peers file,
 * subscribes to the network's event topic (validated as every member validates it), and hands
 * each accepted batch to `onBatch`. It publishes nothing and runs no Prolog. Its key is a new
 * random one each run: it is nobody the network needs to know again.
 */
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { eventTopic } from '../../core/net/constants.ts'
import { createEventChannel } from '../../core/net/event-channel.ts'
import { peerGossipOptions } from '../../core/net/gossip-options.ts'
import { describeAddress, keepConnected } from '../../core/net/redial.ts'
import type { InboundBatch } from '../../core/net/event-channel.ts'
import type { Identity } from '../../core/net/identity.ts'
import type { PeersFile } from '../../core/net/peers.ts'

export interface LiveMonitorInit {
  identity: Identity
  peers: PeersFile
  onBatch: (batch: InboundBatch) => void
  /** Connections and failures, for the user. */
  onNote: (text: string) => void
}

export interface LiveMonitor {
  readonly peerId: string
  readonly topic: string
  /** Refused messages by reason, batches and events in: the event channel's counters. */
  readonly counters: Readonly<Record<string, number>>
  stop (): Promise<void>
}

export async function startLiveMonitor (init: LiveMonitorInit): Promise<LiveMonitor> {
  const stopping = new AbortController()
  const libp2p = await createLibp2p({
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), pubsub: gossipsub(peerGossipOptions()) }
  })
  const topic = eventTopic(init.identity.network)
  const channel = createEventChannel({ pubsub: libp2p.services.pubsub, peerId: libp2p.peerId }, { topic })
  channel.onBatch(init.onBatch)
  keepConnected({
    libp2p,
    addresses: init.peers.signallers,
    signal: stopping.signal,
    onConnected: (address) => { init.onNote(`connected to signaller ${describeAddress(address)}`) },
    onDown: (address, err, retryInMs) => {
      init.onNote(`cannot reach signaller ${describeAddress(address)} (${err.message}): is it running? retrying in ${retryInMs} ms and on`)
    }
  })
  return {
    peerId: libp2p.peerId.toString(),
    topic,
    counters: channel.counters,
    stop: async () => {
      stopping.abort()
      channel.stop()
      await libp2p.stop()
    }
  }
}
