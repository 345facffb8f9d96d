/**
 * A light libp2p client of the signaller: the transports, encryption, muxer and gossipsub settings
 * of a node peer, subscribed to the event topic, with no engine, replica or store. The memory step
 * runs many in one helper process (light-clients.ts); the latency step uses one as a probe of
 * when a batch leaves the signaller.
 */
import '../node/node20.ts'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { peerGossipOptions } from '../core/net/gossip-options.ts'
import { eventTopic } from '../core/net/constants.ts'
import { decodeBatch } from '../core/wire/event.ts'
import type { WireEvent } from '../core/wire/event.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

export interface LightClient {
  readonly libp2p: Libp2p<{ pubsub: GossipSub }>
  stop (): Promise<void>
}

/** Dials `signaller` (a multiaddr with /p2p/) and subscribes to the network's event topic. */
export async function startLightClient (signaller: string, network: string, onEvents?: (events: WireEvent[]) => void): Promise<LightClient> {
  const libp2p = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    transports: [webSockets({ bufferedAmountPollInterval: 5 })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), pubsub: gossipsub(peerGossipOptions()) }
  })
  const topic = eventTopic(network)
  if (onEvents !== undefined) {
    libp2p.services.pubsub.addEventListener('message', (evt: CustomEvent<Message>) => {
      if (evt.detail.topic !== topic) return
      try {
        onEvents(decodeBatch(evt.detail.data))
      } catch {}
    })
  }
  libp2p.services.pubsub.subscribe(topic)
  await libp2p.dial(multiaddr(signaller))
  return { libp2p, stop: async () => { await libp2p.stop() } }
}
