/**
 * The page's network settings (www/web-config.ts): what scripts/web-config.ts writes is what the
 * page reads, and a broken file says what is wrong with it.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { webConfigFromJson, webConfigToJson } from '../../www/web-config.ts'

const SIGNALLER = '/dns4/localhost/tcp/9999/ws/p2p/12D3KooWAJS2MRBNbs7qKsjQZvSRae7YXxuy71p81EGxGPMV7sAx'

describe('the web config', () => {
  it('round-trips the network name and the signallers, and nothing else', () => {
    const json = webConfigToJson({ network: 'p2p-prolog', signallers: [multiaddr(SIGNALLER)] })
    expect(json).toEqual({ network: 'p2p-prolog', signallers: [SIGNALLER] })
    const config = webConfigFromJson(JSON.parse(JSON.stringify(json)))
    expect(config.network).toBe('p2p-prolog')
    expect(config.signallers.map(String)).toEqual([SIGNALLER])
    expect(config.iceServers).toEqual([])
  })

  it('allows no signaller (a page on its own) and ICE servers', () => {
    const config = webConfigFromJson({ network: 'n', signallers: [], iceServers: [{ urls: 'stun:stun.example.org' }] })
    expect(config.signallers).toEqual([])
    expect(config.iceServers).toEqual([{ urls: 'stun:stun.example.org' }])
  })

  it.each([
    [null, /JSON object/],
    [{ network: 'Bad Name', signallers: [] }, /"network"/],
    [{ network: 'n' }, /"signallers"/],
    [{ network: 'n', signallers: ['/ip4/1.2.3.4/tcp/1/ws'] }, /must end in \/p2p\//],
    [{ network: 'n', signallers: ['nonsense'] }, /is not a multiaddr/],
    [{ network: 'n', signallers: [], iceServers: 'stun:x' }, /"iceServers"/]
  ])('refuses %j', (json, message) => {
    expect(() => webConfigFromJson(json)).toThrow(message)
  })
})
