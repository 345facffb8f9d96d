/**
 * A reader of packet captures as tcpdump writes them: classic pcap (either byte order,
 * microsecond or nanosecond timestamps) and pcapng (section header, interface description,
 * enhanced and simple packet blocks; other blocks are skipped). It is fed chunks as they come
 * (`tcpdump -U -w - | ...` delivers a record in pieces), so it keeps what is left of an
 * incomplete record for the next chunk.
 *
 * Why not a library: the npm packages for this are either unmaintained for a decade or bind
 * libpcap natively; the two file formats are small and fixed (classic pcap: the pcap-savefile
 * manual page; pcapng: the IETF opsawg pcapng draft).
 *
 * The input is untrusted: a record that claims more bytes than any capture holds, or a block
 * that is not a multiple of 4 bytes, ends the reading with one problem (no way to find the next
 * record), and nothing here throws on bad bytes.
 */

export interface CapturedPacket {
  /** When it was captured, in milliseconds since the epoch (fractions kept). */
  readonly timeMs: number
  /** LINKTYPE_ value of the interface it was captured on (1 Ethernet, 113 Linux cooked, ...). */
  readonly linkType: number
  /** The bytes captured, from the link layer on. */
  readonly data: Uint8Array
  /** The packet's length on the wire; more than `data.length` when the capture cut it. */
  readonly originalLength: number
}

export type CaptureItem = { readonly packet: CapturedPacket } | { readonly problem: string }

/** No record of a capture of this project's traffic is near this (a datagram is at most 64 KiB). */
const MAX_RECORD_BYTES = 16 * 1024 * 1024

const PCAP_MAGIC_US = 0xa1b2c3d4
const PCAP_MAGIC_NS = 0xa1b23c4d
const PCAPNG_SHB = 0x0a0d0d0a
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d
const PCAPNG_IDB = 1
const PCAPNG_SPB = 3
const PCAPNG_EPB = 6
const IF_TSRESOL = 9

interface PcapngInterface { linkType: number, snapLength: number, unitsPerSecond: bigint }

type State =
  | { format: 'unknown' }
  | { format: 'pcap', little: boolean, nanoseconds: boolean, linkType: number }
  | { format: 'pcapng', little: boolean, interfaces: PcapngInterface[] }
  | { format: 'stopped' }

export class CaptureReader {
  private pending: Uint8Array = new Uint8Array(0)
  private state: State = { format: 'unknown' }

  /** The format found at the start: 'pcap', 'pcapng', or undefined before the first bytes. */
  get format (): string | undefined {
    return this.state.format === 'unknown' || this.state.format === 'stopped' ? undefined : this.state.format
  }

  /** Reads what `chunk` completes; keeps the rest for the next call. */
  feed (chunk: Uint8Array): CaptureItem[] {
    if (this.stopped()) return []
    this.pending = this.pending.length === 0 ? chunk : concat(this.pending, chunk)
    const items: CaptureItem[] = []
    let offset = 0
    while (true) {
      const used = this.step(this.pending, offset, items)
      if (used === 0) break
      offset += used
      if (this.stopped()) { offset = this.pending.length; break }
    }
    this.pending = this.pending.subarray(offset)
    return items
  }

  /** After a damage that leaves no way to find the next record. */
  private stopped (): boolean {
    return this.state.format === 'stopped'
  }

  /** The end of the input: reports a record cut short. */
  end (): CaptureItem[] {
    if (this.state.format === 'stopped' || this.pending.length === 0) return []
    const left = this.pending.length
    this.pending = new Uint8Array(0)
    return [{ problem: this.state.format === 'unknown' ? `only ${left} bytes: not a capture` : `the capture ends inside a record (${left} bytes left over): was tcpdump stopped mid-write?` }]
  }

  /** Reads one header or record at `offset`; returns the bytes it used, 0 when it needs more. */
  private step (bytes: Uint8Array, offset: number, items: CaptureItem[]): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.length - offset)
    switch (this.state.format) {
      case 'unknown': return this.start(view, items)
      case 'pcap': return this.pcapRecord(view, bytes.subarray(offset), items)
      case 'pcapng': return this.pcapngBlock(view, bytes.subarray(offset), items)
      default: return 0
    }
  }

  private stop (items: CaptureItem[], problem: string): number {
    items.push({ problem })
    this.state = { format: 'stopped' }
    return 1
  }

  private start (view: DataView, items: CaptureItem[]): number {
    if (view.byteLength < 4) return 0
    const big = view.getUint32(0, false)
    const little = view.getUint32(0, true)
    if (big === PCAPNG_SHB) {
      this.state = { format: 'pcapng', little: true, interfaces: [] }
      return this.pcapngBlock(view, new Uint8Array(view.buffer, view.byteOffset, view.byteLength), items)
    }
    const magic = [big, little].find(m => m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS)
    if (magic === undefined) {
      return this.stop(items, `not a capture (starts ${hex(new Uint8Array(view.buffer, view.byteOffset, 4))}): give tcpdump -w output, classic pcap or pcapng`)
    }
    if (view.byteLength < 24) return 0
    const isLittle = little === magic
    this.state = { format: 'pcap', little: isLittle, nanoseconds: magic === PCAP_MAGIC_NS, linkType: view.getUint32(20, isLittle) & 0x0fffffff }
    return 24
  }

  private pcapRecord (view: DataView, bytes: Uint8Array, items: CaptureItem[]): number {
    if (this.state.format !== 'pcap' || view.byteLength < 16) return 0
    const { little, nanoseconds, linkType } = this.state
    const included = view.getUint32(8, little)
    const original = view.getUint32(12, little)
    if (included > MAX_RECORD_BYTES) return this.stop(items, `a record claims ${included} bytes: the capture is damaged; stopped reading`)
    if (view.byteLength < 16 + included) return 0
    const seconds = view.getUint32(0, little)
    const fraction = view.getUint32(4, little)
    const timeMs = seconds * 1000 + fraction / (nanoseconds ? 1e6 : 1e3)
    items.push({ packet: { timeMs, linkType, data: copy(bytes, 16, 16 + included), originalLength: original } })
    return 16 + included
  }

  private pcapngBlock (view: DataView, bytes: Uint8Array, items: CaptureItem[]): number {
    if (this.state.format !== 'pcapng' || view.byteLength < 12) return 0
    const type = view.getUint32(0, this.state.little)
    if (type === PCAPNG_SHB) {
      // A new section: its byte-order magic says how to read it, lengths included.
      const order = view.getUint32(8, true)
      if (order !== PCAPNG_BYTE_ORDER && view.getUint32(8, false) !== PCAPNG_BYTE_ORDER) {
        return this.stop(items, 'a pcapng section header without its byte-order magic: the capture is damaged; stopped reading')
      }
      this.state = { format: 'pcapng', little: order === PCAPNG_BYTE_ORDER, interfaces: [] }
    }
    const { little } = this.state
    const length = view.getUint32(4, little)
    if (length < 12 || length % 4 !== 0 || length > MAX_RECORD_BYTES) {
      return this.stop(items, `a pcapng block claims ${length} bytes: the capture is damaged; stopped reading`)
    }
    if (view.byteLength < length) return 0
    if (view.getUint32(length - 4, little) !== length) {
      return this.stop(items, 'a pcapng block whose two lengths differ: the capture is damaged; stopped reading')
    }
    const body = new DataView(view.buffer, view.byteOffset + 8, length - 12)
    const bodyBytes = bytes.subarray(8, length - 4)
    if (type === PCAPNG_IDB) this.pcapngInterface(body, bodyBytes, items)
    else if (type === PCAPNG_EPB) this.pcapngPacket(body, bodyBytes, items)
    else if (type === PCAPNG_SPB) this.pcapngSimplePacket(body, bodyBytes, items)
    return length
  }

  private pcapngInterface (body: DataView, bytes: Uint8Array, items: CaptureItem[]): void {
    if (this.state.format !== 'pcapng') return
    if (body.byteLength < 8) { items.push({ problem: 'a pcapng interface block too short: skipped' }); return }
    const { little } = this.state
    let unitsPerSecond = 1_000_000n
    // Options: code, length, value padded to 4; only the timestamp resolution matters here.
    for (let at = 8; at + 4 <= body.byteLength;) {
      const code = body.getUint16(at, little)
      const size = body.getUint16(at + 2, little)
      if (code === 0 || at + 4 + size > body.byteLength) break
      if (code === IF_TSRESOL && size >= 1) {
        const value = bytes[at + 4]
        const exponent = BigInt(value & 0x7f)
        unitsPerSecond = (value & 0x80) === 0 ? 10n ** exponent : 2n ** exponent
      }
      at += 4 + Math.ceil(size / 4) * 4
    }
    this.state.interfaces.push({ linkType: body.getUint16(0, little), snapLength: body.getUint32(4, little), unitsPerSecond })
  }

  private pcapngPacket (body: DataView, bytes: Uint8Array, items: CaptureItem[]): void {
    if (this.state.format !== 'pcapng') return
    const { little, interfaces } = this.state
    if (body.byteLength < 20) { items.push({ problem: 'a pcapng packet block too short: skipped' }); return }
    const iface = interfaces[body.getUint32(0, little)]
    if (iface === undefined) { items.push({ problem: 'a pcapng packet of an interface never described: skipped' }); return }
    const units = (BigInt(body.getUint32(4, little)) << 32n) | BigInt(body.getUint32(8, little))
    const captured = body.getUint32(12, little)
    const original = body.getUint32(16, little)
    if (20 + captured > body.byteLength) { items.push({ problem: `a pcapng packet block claims ${captured} bytes and holds fewer: skipped` }); return }
    // Milliseconds: whole milliseconds in bigint (no precision lost), the rest as a fraction.
    const unitsPerMs = iface.unitsPerSecond / 1000n
    const timeMs = unitsPerMs > 0n
      ? Number(units / unitsPerMs) + Number(units % unitsPerMs) / Number(unitsPerMs)
      : Number(units * 1000n / iface.unitsPerSecond)
    items.push({ packet: { timeMs, linkType: iface.linkType, data: copy(bytes, 20, 20 + captured), originalLength: original } })
  }

  private pcapngSimplePacket (body: DataView, bytes: Uint8Array, items: CaptureItem[]): void {
    if (this.state.format !== 'pcapng') return
    const iface = this.state.interfaces[0]
    if (iface === undefined || body.byteLength < 4) { items.push({ problem: 'a pcapng simple packet without an interface: skipped' }); return }
    const original = body.getUint32(0, this.state.little)
    const captured = Math.min(original, body.byteLength - 4, iface.snapLength === 0 ? Infinity : iface.snapLength)
    // A simple packet block has no timestamp.
    items.push({ packet: { timeMs: Number.NaN, linkType: iface.linkType, data: copy(bytes, 4, 4 + captured), originalLength: original } })
  }
}

/** A plain Uint8Array of its own (a Buffer's slice() is a view, and keeps the whole input alive). */
function copy (bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end))
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length)
  joined.set(a, 0)
  joined.set(b, a.length)
  return joined
}

export function hex (bytes: Uint8Array): string {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join(' ')
}
