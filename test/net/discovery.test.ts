/**
 * The announcements browsers find each other by (core/net/discovery.ts): what is accepted, what
 * is refused before gossipsub forwards it.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { decodeAnnouncement, encodeAnnouncement, MAX_ANNOUNCEMENT_BYTES, validateAnnouncement } from '../../core/net/discovery.ts'
import type { Message } from '@libp2p/gossipsub'

const ADDRESS = '/ip4/127.0.0.1/tcp/9999/ws/p2p/12D3KooWAJS2MRBNbs7qKsjQZvSRae7YXxuy71p81EGxGPMV7sAx/p2p-circuit/webrtc/p2p/12D3KooWCsd1VdU6byZ6Ei49kh8x7tDRTcFX6jR4QT2Km8BYsRQL'
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('discovery announcements', () => {
  it('carry a list of multiaddrs and a boot id as JSON', () => {
    const bytes = encodeAnnouncement([multiaddr(ADDRESS)], 'c0ffee')
    expect(new TextDecoder().decode(bytes)).toBe(JSON.stringify({ v: 1, addrs: [ADDRESS], boot: 'c0ffee' }))
    const { addresses, boot } = decodeAnnouncement(bytes)
    expect(addresses.map(String)).toEqual([ADDRESS])
    expect(boot).toBe('c0ffee')
    expect(decodeAnnouncement(encodeAnnouncement([])).boot).toBe('')
  })

  it.each([
    ['not JSON', utf8('{"v":1,')],
    ['not UTF-8', Uint8Array.of(0x7b, 0xff, 0x7d)],
    ['not an object', utf8('[1]')],
    ['another version', utf8(JSON.stringify({ v: 2, addrs: [] }))],
    ['addresses that are not strings', utf8(JSON.stringify({ v: 1, addrs: [1] }))],
    ['too many addresses', utf8(JSON.stringify({ v: 1, addrs: Array(17).fill(ADDRESS) }))],
    ['an address that is not a multiaddr', utf8(JSON.stringify({ v: 1, addrs: ['/ip4/nowhere'] }))],
    ['a boot that is not a short string', utf8(JSON.stringify({ v: 1, addrs: [], boot: 'x'.repeat(65) }))],
    ['too many bytes', utf8(JSON.stringify({ v: 1, addrs: ['x'.repeat(MAX_ANNOUNCEMENT_BYTES)] }))]
  ])('refuses %s', (_what, bytes) => {
    expect(() => decodeAnnouncement(bytes)).toThrow()
    expect(validateAnnouncement({ type: 'signed', data: bytes } as unknown as Message)).toBe(TopicValidatorResult.Reject)
  })

  it('accepts a valid one only when it is signed', () => {
    const data = encodeAnnouncement([multiaddr(ADDRESS)])
    expect(validateAnnouncement({ type: 'signed', data } as unknown as Message)).toBe(TopicValidatorResult.Accept)
    expect(validateAnnouncement({ type: 'unsigned', data } as unknown as Message)).toBe(TopicValidatorResult.Reject)
  })
})
