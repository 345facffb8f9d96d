/**
 * From a captured frame to its UDP datagram: the link layers tcpdump writes on Linux (Ethernet,
 * which `-i lo` is; Linux cooked v1 and v2, which `-i any` is; raw IP; BSD loopback), then IPv4
 * or IPv6, then UDP. Frames that are not UDP are `other` (a capture without a filter has ARP, TCP,
 * ICMPv6 ...); frames that claim more than they hold are `problem`s. Nothing here throws on bad
 * bytes: every length is checked before it is used.
 */

export interface UdpDatagram {
  readonly source: string
  readonly sourcePort: number
  readonly destination: string
  readonly destinationPort: number
  readonly payload: Uint8Array
}

export type FrameResult =
  | { readonly udp: UdpDatagram }
  | { readonly other: string }
  | { readonly problem: string }

const ETHERTYPE_IPV4 = 0x0800
const ETHERTYPE_IPV6 = 0x86dd
const ETHERTYPE_VLAN = [0x8100, 0x88a8]
const PROTOCOL_UDP = 17

/** Link-layer header types (the tcpdump.org LINKTYPE_ list): where the IP packet starts. */
const LINK_TYPES: Record<number, (frame: Uint8Array, view: DataView) => FrameResult> = {
  0: bsdLoopback,
  1: ethernet,
  101: raw,
  113: (frame, view) => frame.length < 16 ? { problem: 'a Linux cooked frame too short' } : network(view.getUint16(14), frame.subarray(16)),
  228: raw,
  229: raw,
  276: (frame, view) => frame.length < 20 ? { problem: 'a Linux cooked v2 frame too short' } : network(view.getUint16(0), frame.subarray(20))
}

export function datagramOf (linkType: number, frame: Uint8Array): FrameResult {
  const read = LINK_TYPES[linkType]
  if (read === undefined) return { problem: `link type ${linkType} is not read here (capture with tcpdump -i lo or -i any)` }
  return read(frame, new DataView(frame.buffer, frame.byteOffset, frame.byteLength))
}

function ethernet (frame: Uint8Array, view: DataView): FrameResult {
  let at = 12
  if (frame.length < at + 2) return { problem: 'an Ethernet frame too short' }
  let type = view.getUint16(at)
  while (ETHERTYPE_VLAN.includes(type)) {
    at += 4
    if (frame.length < at + 2) return { problem: 'a VLAN-tagged frame too short' }
    type = view.getUint16(at)
  }
  return network(type, frame.subarray(at + 2))
}

function bsdLoopback (frame: Uint8Array, view: DataView): FrameResult {
  if (frame.length < 4) return { problem: 'a loopback frame too short' }
  // The address family in the byte order of the machine that captured: 2 is IPv4 everywhere.
  const family = view.getUint32(0, true) === 2 || view.getUint32(0, false) === 2 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6
  return network(family, frame.subarray(4))
}

function raw (frame: Uint8Array): FrameResult {
  if (frame.length < 1) return { problem: 'an empty IP packet' }
  const version = frame[0] >> 4
  return network(version === 4 ? ETHERTYPE_IPV4 : version === 6 ? ETHERTYPE_IPV6 : -1, frame)
}

function network (etherType: number, packet: Uint8Array): FrameResult {
  if (etherType === ETHERTYPE_IPV4) return ipv4(packet)
  if (etherType === ETHERTYPE_IPV6) return ipv6(packet)
  return { other: `ethertype 0x${etherType.toString(16).padStart(4, '0')}` }
}

function ipv4 (packet: Uint8Array): FrameResult {
  if (packet.length < 20 || packet[0] >> 4 !== 4) return { problem: 'an IPv4 header too short or of another version' }
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength)
  const headerLength = (packet[0] & 0x0f) * 4
  const totalLength = view.getUint16(2)
  if (headerLength < 20 || totalLength < headerLength || totalLength > packet.length) {
    return { problem: `an IPv4 packet whose lengths do not fit (header ${headerLength}, total ${totalLength}, captured ${packet.length})` }
  }
  if (packet[9] !== PROTOCOL_UDP) return { other: `IP protocol ${packet[9]}` }
  const fragment = view.getUint16(6)
  const source = address4(packet.subarray(12, 16))
  const destination = address4(packet.subarray(16, 20))
  // More fragments, or an offset: a piece of a datagram over the MTU, not reassembled here.
  if ((fragment & 0x2000) !== 0 || (fragment & 0x1fff) !== 0) return { problem: `a fragment of a datagram from ${source} (not reassembled)` }
  return udp(source, destination, packet.subarray(headerLength, totalLength))
}

function ipv6 (packet: Uint8Array): FrameResult {
  if (packet.length < 40 || packet[0] >> 4 !== 6) return { problem: 'an IPv6 header too short or of another version' }
  const payloadLength = new DataView(packet.buffer, packet.byteOffset, packet.byteLength).getUint16(4)
  if (40 + payloadLength > packet.length) return { problem: `an IPv6 packet whose length ${payloadLength} does not fit the ${packet.length - 40} bytes captured` }
  // Extension headers are not followed: this project's datagrams carry none.
  if (packet[6] !== PROTOCOL_UDP) return { other: `IPv6 next header ${packet[6]}` }
  return udp(address6(packet.subarray(8, 24)), address6(packet.subarray(24, 40)), packet.subarray(40, 40 + payloadLength))
}

function udp (source: string, destination: string, segment: Uint8Array): FrameResult {
  if (segment.length < 8) return { problem: `a UDP header too short from ${source}` }
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength)
  const length = view.getUint16(4)
  if (length < 8 || length > segment.length) return { problem: `a UDP datagram from ${source} whose length ${length} does not fit the ${segment.length} bytes captured` }
  return {
    udp: { source, sourcePort: view.getUint16(0), destination, destinationPort: view.getUint16(2), payload: segment.subarray(8, length) }
  }
}

function address4 (bytes: Uint8Array): string {
  return Array.from(bytes).join('.')
}

function address6 (bytes: Uint8Array): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16))
  // The longest run of zero groups becomes "::" (RFC 5952).
  const text = groups.join(':')
  const runs = text.match(/(^|:)0(:0)+(:|$)/g) ?? []
  const longest = runs.reduce((a, b) => b.length > a.length ? b : a, '')
  return longest === '' ? text : text.replace(longest, '::')
}
