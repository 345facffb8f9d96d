/**
 * Gossipsub settings for the two shapes of member: the hub (a signaller, at the centre of a star
 * of peers) and an ordinary peer. The numbers come from reading @libp2p/gossipsub 17's sources;
 * see ../shared/LIBP2P.md in the design notes for the evidence.
 */
import { MAX_INBOUND_FRAME_BYTES } from './constants.ts'
import type { GossipsubOpts } from '@libp2p/gossipsub'

const common: Partial<GossipsubOpts> = {
  // Every member of a one-host deployment (loopback, one Docker host) shares an IP; the default
  // colocation penalty would graylist them from about a dozen peers on.
  scoreParams: { IPColocationFactorWeight: 0 },
  // A lone peer still publishes: the events wait in its store for the sync protocol.
  allowPublishToZeroTopicPeers: true,
  maxInboundDataLength: MAX_INBOUND_FRAME_BYTES,
  // IDONTWANT doubles the writes of a hub for no gain in a star.
  idontwantMinDataSize: 1 << 30
}

/** A hub forwards only to its mesh: the mesh must hold every peer it serves. */
export function hubGossipOptions (): Partial<GossipsubOpts> {
  return { ...common, D: 64, Dlo: 48, Dhi: 128, Dout: 24 }
}

export function peerGossipOptions (): Partial<GossipsubOpts> {
  return { ...common }
}
