/**
 * The capture decoder (npm run decode, scripts/decode/): on a real capture made with tcpdump on
 * loopback (loopback.pcap: stock swipl's udp_broadcast send and request, a CBOR event, a CBOR
 * batch, and three datagrams that are not ours or are broken), on captures built here byte by
 * byte (pcap in both byte orders, pcapng, the link layers of Linux), on damaged and random input
 * (reported, never thrown), and, where tcpdump is installed, on tcpdump's live output in the
 * tests' private network namespace, as the README's pipeline runs it.
 */
import { spawn } from 'node:child_process'
import { statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CaptureReader } from '../../scripts/decode/capture.ts'
import { datagramOf } from '../../scripts/decode/datagram.ts'
import { describeEvent, describePayload } from '../../scripts/decode/describe.ts'
import { decodeCapture } from '../../scripts/decode/decode-capture.ts'
import { atom, compound, encodeBatch, encodeEvent } from '../../core/wire/index.ts'
import { wireEventArbitrary } from '../arbitraries.ts'
import { eventually, multicastSender, ROOT } from '../support/processes.ts'
import type { CaptureItem, CapturedPacket } from '../../scripts/decode/capture.ts'
import type { WireEvent } from '../../core/wire/index.ts'

const FIXTURE = join(ROOT, 'test', 'decode', 'loopback.pcap')
const ORIGIN = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const MESSAGE: WireEvent = {
  kind: 'message',
  id: Uint8Array.from({ length: 16 }, (_, i) => i),
  hlc: { wall: 1732380000000, counter: 0 },
  origin: ORIGIN,
  term: compound('temperature', atom('kitchen'), 21.5)
}

/** The lines decodeCapture prints for `bytes`, without their capture times, and its summary. */
async function decodeBytes (bytes: Uint8Array, port?: number): Promise<{ lines: string[], summary: string }> {
  const lines: string[] = []
  const { summary } = await decodeCapture([bytes], port, (line) => { lines.push(line.replace(/^\d\d:\d\d:\d\d\.\d{3} /, '')) })
  return { lines, summary }
}

function packets (items: CaptureItem[]): CapturedPacket[] {
  return items.flatMap(item => 'packet' in item ? [item.packet] : [])
}

function problems (items: CaptureItem[]): string[] {
  return items.flatMap(item => 'problem' in item ? [item.problem] : [])
}

// --- frames and captures built by hand ---

function u16 (n: number): number[] { return [n >> 8, n & 0xff] }

function udpSegment (payload: Uint8Array, sourcePort = 40000, destinationPort = 9999): number[] {
  return [...u16(sourcePort), ...u16(destinationPort), ...u16(8 + payload.length), 0, 0, ...payload]
}

function ipv4Packet (segment: number[], options: { protocol?: number, fragment?: number, totalLength?: number } = {}): number[] {
  const total = options.totalLength ?? 20 + segment.length
  return [0x45, 0, ...u16(total), 0, 1, ...u16(options.fragment ?? 0x4000), 1, options.protocol ?? 17, 0, 0, 127, 0, 0, 1, 239, 0, 0, 2, ...segment]
}

function ipv6Packet (segment: number[]): number[] {
  const loopback = [...Array(15).fill(0), 1]
  const group = [0xff, 0x02, ...Array(13).fill(0), 0x99]
  return [0x60, 0, 0, 0, ...u16(segment.length), 17, 1, ...loopback, ...group, ...segment]
}

function ethernetFrame (packet: number[], etherType = 0x0800): Uint8Array {
  return Uint8Array.from([...Array(12).fill(0), ...u16(etherType), ...packet])
}

/** A classic pcap file: header, then one record per frame. */
function pcapFile (frames: Uint8Array[], options: { little?: boolean, nanoseconds?: boolean, linkType?: number } = {}): Uint8Array {
  const little = options.little ?? true
  const parts: Uint8Array[] = []
  const header = new DataView(new ArrayBuffer(24))
  header.setUint32(0, options.nanoseconds === true ? 0xa1b23c4d : 0xa1b2c3d4, little)
  header.setUint16(4, 2, little)
  header.setUint16(6, 4, little)
  header.setUint32(16, 262144, little)
  header.setUint32(20, options.linkType ?? 1, little)
  parts.push(new Uint8Array(header.buffer))
  frames.forEach((frame, i) => {
    const record = new DataView(new ArrayBuffer(16))
    record.setUint32(0, 1732380000 + i, little)
    record.setUint32(4, options.nanoseconds === true ? 500_000_000 : 500_000, little)
    record.setUint32(8, frame.length, little)
    record.setUint32(12, frame.length, little)
    parts.push(new Uint8Array(record.buffer), frame)
  })
  return Buffer.concat(parts)
}

function pcapngBlock (type: number, body: Uint8Array, little: boolean): Uint8Array {
  const padded = Math.ceil(body.length / 4) * 4
  const block = new DataView(new ArrayBuffer(12 + padded))
  block.setUint32(0, type, little)
  block.setUint32(4, 12 + padded, little)
  new Uint8Array(block.buffer).set(body, 8)
  block.setUint32(8 + padded, 12 + padded, little)
  return new Uint8Array(block.buffer)
}

/** A pcapng file: a section header, one interface (nanosecond timestamps), an enhanced packet block per frame. */
function pcapngFile (frames: Uint8Array[], little = true, linkType = 1): Uint8Array {
  const shb = new DataView(new ArrayBuffer(16))
  shb.setUint32(0, 0x1a2b3c4d, little)
  shb.setUint16(4, 1, little)
  shb.setBigInt64(8, -1n, little)
  const idb = new DataView(new ArrayBuffer(20))
  idb.setUint16(0, linkType, little)
  idb.setUint32(4, 262144, little)
  idb.setUint16(8, 9, little) // if_tsresol
  idb.setUint16(10, 1, little)
  idb.setUint8(12, 9) // 10^-9
  const blocks = [pcapngBlock(0x0a0d0d0a, new Uint8Array(shb.buffer), little), pcapngBlock(1, new Uint8Array(idb.buffer), little)]
  for (const frame of frames) {
    const epb = new DataView(new ArrayBuffer(20 + frame.length))
    const ns = 1732380000_250_000_000n
    epb.setUint32(4, Number(ns >> 32n), little)
    epb.setUint32(8, Number(ns & 0xffffffffn), little)
    epb.setUint32(12, frame.length, little)
    epb.setUint32(16, frame.length, little)
    new Uint8Array(epb.buffer).set(frame, 20)
    blocks.push(pcapngBlock(6, new Uint8Array(epb.buffer), little))
  }
  return Buffer.concat(blocks)
}

const udpBroadcast = (text: string): Uint8Array => new TextEncoder().encode(`%-prolog-\n${text}`)

describe('the capture decoder on a real tcpdump capture of loopback', () => {
  it('prints stock swipl\'s udp_broadcast datagrams and the CBOR event and batch, and skips the three others with why', async () => {
    const { lines, summary } = await decodeBytes(await readFile(FIXTURE))
    expect(lines[0]).toMatch(/^0\.0\.0\.0:\d+ > 239\.0\.0\.2:9999 udp_broadcast send\(temperature\(kitchen,21\.5\)\)$/)
    expect(lines[1]).toMatch(/^0\.0\.0\.0:\d+ > 239\.0\.0\.2:9999 udp_broadcast request\(\d+,number\(_\d+\)\)$/)
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^127\.0\.0\.1:\d+ > 239\.0\.0\.2:9999 cbor message from …2NASuq at 16:40:00\.000 id 00010203: temperature\(kitchen,21\.5\)$/),
      expect.stringMatching(/ cbor batch of 2 events$/),
      '  message from …2NASuq at 16:40:00.000 id 00010203: temperature(kitchen,21.5)',
      '  retract from …2NASuq at 16:40:00.007 id f0f1f2f3 n 2 retracts 00010203',
      expect.stringMatching(/ skipped: not a P2P Prolog datagram: 15 bytes starting 68 65 6c 6c 6f/),
      expect.stringMatching(/ skipped: a udp_broadcast datagram that is not UTF-8 \(2 bytes\)$/),
      expect.stringMatching(/ skipped: CBOR refused \(truncated\)/)
    ])
    expect(summary).toBe('7 datagrams (4 shown, 3 skipped), 0 other packets; format pcap')
  })

  it('reads the same packets whatever the chunks it is fed (tcpdump -U writes records in pieces)', async () => {
    const bytes = await readFile(FIXTURE)
    const whole = new CaptureReader().feed(bytes)
    const reader = new CaptureReader()
    const oneByOne = [...Array.from(bytes, b => reader.feed(Uint8Array.of(b))).flat(), ...reader.end()]
    expect(oneByOne).toEqual(whole)
    expect(packets(whole)).toHaveLength(7)
    expect(packets(whole)[0].linkType).toBe(1)
  })

  it('filters by port', async () => {
    expect((await decodeBytes(await readFile(FIXTURE), 9998)).summary).toBe('0 datagrams (0 shown, 0 skipped), 7 other packets; format pcap')
  })
})

describe('the capture decoder on captures built byte by byte', () => {
  const frame = ethernetFrame(ipv4Packet(udpSegment(encodeEvent(MESSAGE))))

  it('reads classic pcap in both byte orders, with micro- and nanosecond times', () => {
    for (const little of [true, false]) {
      for (const nanoseconds of [true, false]) {
        const [packet] = packets(new CaptureReader().feed(pcapFile([frame], { little, nanoseconds })))
        expect(packet.data).toEqual(frame)
        expect(packet.timeMs).toBe(1732380000_500)
      }
    }
  })

  it('reads pcapng in both byte orders, with the interface\'s timestamp resolution', () => {
    for (const little of [true, false]) {
      const items = new CaptureReader().feed(pcapngFile([frame, frame], little))
      expect(problems(items)).toEqual([])
      expect(packets(items).map(p => [p.timeMs, p.linkType, p.data.length])).toEqual([[1732380000_250, 1, frame.length], [1732380000_250, 1, frame.length]])
    }
  })

  it('reads the link layers of Linux captures: Ethernet with VLAN, cooked v1 (-i any) and v2, raw IPv4 and IPv6', () => {
    const segment = udpSegment(udpBroadcast('send(hello)'))
    const ip = ipv4Packet(segment)
    const cases: Array<[number, Uint8Array]> = [
      [1, Uint8Array.from([...Array(12).fill(0), 0x81, 0x00, 0, 5, 0x08, 0x00, ...ip])],
      [113, Uint8Array.from([0, 0, 0, 1, 0, 6, ...Array(8).fill(0), 0x08, 0x00, ...ip])],
      [276, Uint8Array.from([0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, ...Array(8).fill(0), ...ip])],
      [101, Uint8Array.from(ip)],
      [228, Uint8Array.from(ip)],
      [229, Uint8Array.from(ipv6Packet(segment))],
      [0, Uint8Array.from([2, 0, 0, 0, ...ip])]
    ]
    for (const [linkType, bytes] of cases) {
      const result = datagramOf(linkType, bytes)
      expect(result, `link type ${linkType}`).toHaveProperty('udp.destinationPort', 9999)
      if ('udp' in result) expect(describePayload(result.udp.payload)).toEqual({ format: 'udp_broadcast', lines: ['udp_broadcast send(hello)'] })
    }
    expect(datagramOf(229, Uint8Array.from(ipv6Packet(segment)))).toHaveProperty('udp.destination', 'ff02::99')
  })

  it('passes over packets that are not UDP, and reports broken ones', () => {
    expect(datagramOf(1, ethernetFrame(ipv4Packet(udpSegment(new Uint8Array(4)), { protocol: 6 })))).toEqual({ other: 'IP protocol 6' })
    expect(datagramOf(1, ethernetFrame([0, 1], 0x0806))).toEqual({ other: 'ethertype 0x0806' })
    expect(datagramOf(1, ethernetFrame(ipv4Packet(udpSegment(new Uint8Array(4)), { fragment: 0x2000 })))).toHaveProperty('problem', expect.stringContaining('fragment'))
    expect(datagramOf(1, ethernetFrame(ipv4Packet(udpSegment(new Uint8Array(4)), { totalLength: 400 })))).toHaveProperty('problem', expect.stringContaining('lengths do not fit'))
    const lying = udpSegment(new Uint8Array(4))
    lying[5] = 200 // the UDP length claims 200 bytes
    expect(datagramOf(1, ethernetFrame(ipv4Packet(lying)))).toHaveProperty('problem', expect.stringContaining('length 200 does not fit'))
    expect(datagramOf(1, new Uint8Array(5))).toHaveProperty('problem')
    expect(datagramOf(147, frame)).toHaveProperty('problem', expect.stringContaining('link type 147'))
  })

  it('reports input that is not a capture, a damaged record and a capture cut short, and never throws', async () => {
    expect(problems(new CaptureReader().feed(new TextEncoder().encode('hello world')))).toEqual([expect.stringContaining('not a capture (starts 68 65 6c 6c)')])
    const damaged = pcapFile([frame])
    new DataView(damaged.buffer, damaged.byteOffset).setUint32(24 + 8, 0x7fffffff, true)
    const reader = new CaptureReader()
    expect(problems(reader.feed(damaged))).toEqual([expect.stringContaining('the capture is damaged')])
    expect(reader.feed(pcapFile([frame]))).toEqual([]) // stopped for good: no resynchronising on garbage
    const cut = pcapFile([frame, frame])
    const shortReader = new CaptureReader()
    expect(packets(shortReader.feed(cut.subarray(0, cut.length - 5)))).toHaveLength(1)
    expect(problems(shortReader.end())).toEqual([expect.stringContaining('ends inside a record')])
    const { lines, summary } = await decodeBytes(pcapFile([frame, ethernetFrame(ipv4Packet(udpSegment(Uint8Array.of(0xd9, 0xd9, 0xf7, 0x80, 0x00))))]))
    expect(lines).toEqual([
      expect.stringMatching(/cbor message from …2NASuq/),
      expect.stringMatching(/skipped: CBOR refused \(trailing-bytes\)/)
    ])
    expect(summary).toBe('2 datagrams (1 shown, 1 skipped), 0 other packets; format pcap')
  })

  it('survives random bytes and random damage to a real capture', async () => {
    const real = await readFile(FIXTURE)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.integer({ min: 1, max: 64 }), (noise, flips, chunk) => {
      for (const input of [noise, (() => { const copy = Uint8Array.from(real); for (const [at, value] of flips) copy[at % copy.length] = value; return copy })()]) {
        const reader = new CaptureReader()
        for (let at = 0; at < input.length; at += chunk) {
          for (const packet of packets(reader.feed(input.subarray(at, at + chunk)))) {
            const result = datagramOf(packet.linkType, packet.data)
            if ('udp' in result) describePayload(result.udp.payload)
          }
        }
        reader.end()
      }
    }), { numRuns: 300 })
  })

  it('prints every kind of event, alone and in batches, with the term as Prolog text', async () => {
    await fc.assert(fc.asyncProperty(fc.array(wireEventArbitrary, { minLength: 1, maxLength: 3 }), async (events) => {
      const frames = [ethernetFrame(ipv4Packet(udpSegment(encodeEvent(events[0])))), ethernetFrame(ipv4Packet(udpSegment(encodeBatch(events))))]
      const { lines } = await decodeBytes(pcapngFile(frames))
      const route = '127.0.0.1:40000 > 239.0.0.2:9999'
      expect(lines).toEqual([
        `${route} cbor ${describeEvent(events[0])}`,
        `${route} cbor batch of ${events.length} event${events.length === 1 ? '' : 's'}`,
        ...events.map(e => `  ${describeEvent(e)}`)
      ])
    }), { numRuns: 50 })
    expect(describeEvent(MESSAGE)).toBe('message from …2NASuq at 16:40:00.000 id 00010203: temperature(kitchen,21.5)')
  })
})

describe('the README\'s pipeline: tcpdump -i lo -U -w - udp port N | npm run --silent decode', () => {
  it.skipIf(process.env.P2P_PROLOG_NETNS !== '1' || !commandExists('tcpdump'))('decodes datagrams live as tcpdump captures them', async () => {
    const port = 9000 + Math.floor(Math.random() * 900)
    const tcpdump = spawn('tcpdump', ['-i', 'lo', '-U', '-w', '-', 'udp', 'port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
    const decoder = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'decode', 'main.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    tcpdump.stdout.pipe(decoder.stdin)
    let output = ''
    let errors = ''
    decoder.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    decoder.stderr.on('data', (chunk: Buffer) => { errors += chunk.toString() })
    tcpdump.stderr.on('data', (chunk: Buffer) => { errors += chunk.toString() })
    try {
      await eventually(() => errors.includes('listening on lo'), { describe: () => errors })
      const socket = await multicastSender()
      const send = async (bytes: Uint8Array): Promise<void> => { await new Promise<void>(resolve => socket.send(bytes, port, '239.0.0.2', () => { resolve() })) }
      await send(udpBroadcast('send(temperature(hall,19.0))'))
      await send(encodeEvent(MESSAGE))
      await eventually(() => output.includes('cbor message'), { describe: () => `${output}\n${errors}` })
      socket.close()
      expect(output).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} 127\\.0\\.0\\.1:\\d+ > 239\\.0\\.0\\.2:${port} udp_broadcast send\\(temperature\\(hall,19\\.0\\)\\)$`, 'm'))
      expect(output).toContain(`239.0.0.2:${port} cbor message from …2NASuq at 16:40:00.000 id 00010203: temperature(kitchen,21.5)`)
    } finally {
      tcpdump.kill('SIGTERM')
      await new Promise(resolve => decoder.once('exit', resolve))
    }
    expect(errors).toMatch(/decode: 2 datagrams \(2 shown, 0 skipped\)/)
  })
})

function commandExists (name: string): boolean {
  return (process.env.PATH ?? '').split(':').some(dir => {
    try {
      return statSync(join(dir, name)).isFile()
    } catch {
      return false
    }
  })
}
