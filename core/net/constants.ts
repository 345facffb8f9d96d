/**
 * Protocol names and the defaults of the net layer, in one place.
 */

/** The gossipsub topic that carries the events of one network. */
export function eventTopic (network: string): string {
  return `/p2p-prolog/${network}/events/1`
}

/** Most events packed into one gossipsub message. */
export const MAX_BATCH_EVENTS = 512

/** Most bytes packed into one gossipsub message (far below gossipsub's 4 MiB frame limit). */
export const MAX_BATCH_BYTES = 256 * 1024

/** Gossipsub's inbound frame limit: a batch plus the RPC envelope around it. */
export const MAX_INBOUND_FRAME_BYTES = 2 * 1024 * 1024

/** First and longest wait between two dials of a signaller that is down. */
export const REDIAL_MIN_MS = 250
export const REDIAL_MAX_MS = 10_000

/**
 * The gossipsub topic on which browsers announce where they can be dialed over WebRTC (see
 * discovery.ts). The signallers subscribe to it so that they forward it.
 */
export function discoveryTopic (network: string): string {
  return `/p2p-prolog/${network}/discovery/1`
}
