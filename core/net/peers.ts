/**
 * The public peers file (`.peers.json`): where the signallers and the well-known peers listen.
 *
 * ```json
 * { "signallers": ["/dns4/localhost/tcp/9999/ws/p2p/12D3KooW..."], "peers": [] }
 * ```
 * Every address names its peer id, so a dial proves it reached the right server.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface PeersFile {
  readonly signallers: readonly Multiaddr[]
  readonly peers: readonly Multiaddr[]
}

export class InvalidPeersFileError extends Error {
  static override name = 'InvalidPeersFileError'
  override name = 'InvalidPeersFileError'
}

export function peersFromJson (json: unknown): PeersFile {
  if (typeof json !== 'object' || json === null) throw new InvalidPeersFileError('the peers file must be a JSON object')
  const { signallers, peers = [] } = json as Record<string, unknown>
  const list = (value: unknown, field: string): Multiaddr[] => {
    if (!Array.isArray(value) || value.some(v => typeof v !== 'string')) {
      throw new InvalidPeersFileError(`"${field}" must be a list of multiaddr strings`)
    }
    return value.map((text: string) => parseAddress(text, field))
  }
  const result = { signallers: list(signallers, 'signallers'), peers: list(peers, 'peers') }
  if (result.signallers.length === 0) throw new InvalidPeersFileError('"signallers" names no signaller')
  return result
}

export function peersToJson (file: PeersFile): { signallers: string[], peers: string[] } {
  return { signallers: file.signallers.map(String), peers: file.peers.map(String) }
}

function parseAddress (text: string, field: string): Multiaddr {
  let address: Multiaddr
  try {
    address = multiaddr(text)
  } catch (err) {
    throw new InvalidPeersFileError(`"${field}": ${JSON.stringify(text)} is not a multiaddr (${(err as Error).message})`)
  }
  if (address.getComponents().at(-1)?.name !== 'p2p') {
    throw new InvalidPeersFileError(`"${field}": ${text} must end in /p2p/<peer id>`)
  }
  return address
}
