/**
 * Keeps a node connected to its signallers: dials each at start and again, with exponential
 * backoff (and jitter, so a restarted signaller is not hit by every peer at once), whenever the
 * link drops. Reports each failed dial and each recovery once, in words a user can act on.
 */
import { REDIAL_MAX_MS, REDIAL_MIN_MS } from './constants.ts'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface KeepConnectedInit {
  libp2p: Libp2p
  addresses: readonly Multiaddr[]
  signal: AbortSignal
  /** @default REDIAL_MIN_MS */
  minDelay?: number
  /** @default REDIAL_MAX_MS */
  maxDelay?: number
  /** The first failed dial after the signaller was reached (or since the start). */
  onDown?: (address: Multiaddr, err: Error, retryInMs: number) => void
  /** The first successful dial after onDown. */
  onUp?: (address: Multiaddr) => void
  /** Every successful dial (a status display: the signaller is up). */
  onConnected?: (address: Multiaddr) => void
  /** Every failed dial, with the wait before the next one (a status display counting down). */
  onFailed?: (address: Multiaddr, err: Error, retryInMs: number) => void
}

/** Where a signaller listens, as a user would type it: `ws://127.0.0.1:9999`. */
export function describeAddress (address: Multiaddr): string {
  const parts = address.getComponents()
  const host = parts.find(p => ['ip4', 'ip6', 'dns4', 'dns6', 'dns'].includes(p.name))?.value ?? '?'
  const port = parts.find(p => p.name === 'tcp')?.value ?? '?'
  const scheme = parts.some(p => p.name === 'wss' || p.name === 'tls') ? 'wss' : 'ws'
  return `${scheme}://${host}:${port}`
}

export function keepConnected (init: KeepConnectedInit): void {
  for (const address of init.addresses) void keepOne(init, address)
}

async function keepOne (init: KeepConnectedInit, address: Multiaddr): Promise<void> {
  const { libp2p, signal } = init
  const minDelay = init.minDelay ?? REDIAL_MIN_MS
  const maxDelay = init.maxDelay ?? REDIAL_MAX_MS
  let delay = minDelay
  let down = false
  while (!signal.aborted) {
    try {
      const connection = await libp2p.dial(address, { signal: AbortSignal.any([signal, AbortSignal.timeout(10_000)]) })
      if (down) init.onUp?.(address)
      init.onConnected?.(address)
      down = false
      delay = minDelay
      await disconnected(libp2p, connection.remotePeer, signal)
    } catch (err) {
      if (signal.aborted) return
      const wait = Math.round(delay * (0.75 + Math.random() / 2))
      if (!down) init.onDown?.(address, err as Error, wait)
      init.onFailed?.(address, err as Error, wait)
      down = true
      await sleep(wait, signal)
      delay = Math.min(delay * 2, maxDelay)
    }
  }
}

async function disconnected (libp2p: Libp2p, peer: PeerId, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const onDisconnect = (evt: CustomEvent<PeerId>): void => {
      if (!evt.detail.equals(peer)) return
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      resolve()
    }
    libp2p.addEventListener('peer:disconnect', onDisconnect)
    signal.addEventListener('abort', () => { resolve() }, { once: true })
  })
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}
