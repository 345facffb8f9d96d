/**
 * The page's network settings, `p2p-config.json` beside index.html. `npm run build:www` writes it
 * (scripts/web-config.ts) from the network name in `.identity.json` (never its secret) and the
 * signallers of `.peers.json`:
 *
 * ```json
 * { "network": "p2p-prolog", "signallers": ["/dns4/localhost/tcp/9999/ws/p2p/12D3KooW…"] }
 * ```
 * Optional: `"iceServers"`, RTCIceServer objects for WebRTC between browsers on different
 * networks (none by default: browsers then reach each other on one host or one LAN only).
 * An empty `signallers` list is allowed: the page then runs on its own, with no network.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { NETWORK_NAME } from '../core/net/identity.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface WebConfig {
  /** The network's name: it names the gossipsub topics and the sync protocol. */
  network: string
  /** Each ends in `/p2p/<the signaller's peer id>`. */
  signallers: Multiaddr[]
  iceServers: RTCIceServer[]
}

export const WEB_CONFIG_FILE = 'p2p-config.json'

export class WebConfigError extends Error {
  static override name = 'WebConfigError'
  override name = 'WebConfigError'
}

export function webConfigFromJson (json: unknown): WebConfig {
  if (typeof json !== 'object' || json === null) throw new WebConfigError(`${WEB_CONFIG_FILE} must hold a JSON object`)
  const { network, signallers, iceServers = [] } = json as Record<string, unknown>
  if (typeof network !== 'string' || !NETWORK_NAME.test(network)) {
    throw new WebConfigError(`${WEB_CONFIG_FILE}: "network" must be a network name matching ${String(NETWORK_NAME)}`)
  }
  if (!Array.isArray(signallers) || signallers.some(s => typeof s !== 'string')) {
    throw new WebConfigError(`${WEB_CONFIG_FILE}: "signallers" must be a list of multiaddr strings`)
  }
  if (!Array.isArray(iceServers) || iceServers.some(s => typeof s !== 'object' || s === null)) {
    throw new WebConfigError(`${WEB_CONFIG_FILE}: "iceServers" must be a list of RTCIceServer objects`)
  }
  return {
    network,
    signallers: signallers.map((text: string) => {
      let address: Multiaddr
      try {
        address = multiaddr(text)
      } catch (err) {
        throw new WebConfigError(`${WEB_CONFIG_FILE}: ${JSON.stringify(text)} is not a multiaddr (${(err as Error).message})`)
      }
      if (address.getComponents().at(-1)?.name !== 'p2p') throw new WebConfigError(`${WEB_CONFIG_FILE}: ${text} must end in /p2p/<peer id>`)
      return address
    }),
    iceServers: iceServers as RTCIceServer[]
  }
}

export function webConfigToJson (config: { network: string, signallers: readonly Multiaddr[], iceServers?: RTCIceServer[] }): Record<string, unknown> {
  return {
    network: config.network,
    signallers: config.signallers.map(String),
    ...(config.iceServers === undefined || config.iceServers.length === 0 ? {} : { iceServers: config.iceServers })
  }
}

/** Fetches and checks the page's config; the error says how to make one. */
export async function fetchWebConfig (url: string | URL = `./${WEB_CONFIG_FILE}`): Promise<WebConfig> {
  const address = new URL(url, document.baseURI)
  let response: Response
  try {
    response = await fetch(address, { cache: 'no-cache' })
  } catch (err) {
    throw new WebConfigError(`cannot load ${address.href}: ${(err as Error).message}`)
  }
  if (!response.ok) {
    throw new WebConfigError(`cannot load ${address.href} (HTTP ${response.status}): build the page with npm run build:www, which writes it from .identity.json and .peers.json`)
  }
  let json: unknown
  try {
    json = await response.json()
  } catch (err) {
    throw new WebConfigError(`${address.href} is not JSON: ${(err as Error).message}`)
  }
  return webConfigFromJson(json)
}
