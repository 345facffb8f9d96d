/**
 * A whole capture, read as it arrives, to lines of text: what `npm run decode` prints (main.ts)
 * and what the tests check.
 */
import { CaptureReader } from './capture.ts'
import { datagramOf } from './datagram.ts'
import { clockText, describePayload } from './describe.ts'
import type { CaptureItem } from './capture.ts'

/** Reads a capture to its end, printing each datagram; returns a summary line and the format read (none: not a capture). */
export async function decodeCapture (input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array>, port: number | undefined, write = (line: string): void => { process.stdout.write(line + '\n') }): Promise<{ summary: string, format: string | undefined }> {
  const reader = new CaptureReader()
  const counts = { datagrams: 0, shown: 0, skipped: 0, other: 0 }
  const show = (items: CaptureItem[]): void => {
    for (const item of items) {
      if ('problem' in item) { counts.skipped++; write(`skipped: ${item.problem}`); continue }
      const { packet } = item
      const time = clockText(packet.timeMs)
      const frame = datagramOf(packet.linkType, packet.data)
      if ('other' in frame) { counts.other++; continue }
      if ('problem' in frame) { counts.skipped++; write(`${time} skipped: ${frame.problem}`); continue }
      const { udp } = frame
      if (port !== undefined && udp.sourcePort !== port && udp.destinationPort !== port) { counts.other++; continue }
      counts.datagrams++
      const route = `${udp.source}:${udp.sourcePort} > ${udp.destination}:${udp.destinationPort}`
      const cut = packet.originalLength > packet.data.length ? ` (cut by the capture at ${packet.data.length} of ${packet.originalLength} bytes: use tcpdump -s 0)` : ''
      const described = describePayload(udp.payload)
      if ('problem' in described) { counts.skipped++; write(`${time} ${route} skipped: ${described.problem}${cut}`); continue }
      counts.shown++
      described.lines.forEach((line, i) => { write(i === 0 ? `${time} ${route} ${line}` : line) })
    }
  }
  for await (const chunk of input) show(reader.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk))
  show(reader.end())
  const summary = `${counts.datagrams} datagrams (${counts.shown} shown, ${counts.skipped} skipped), ${counts.other} other packets; format ${reader.format ?? 'none'}`
  return { summary, format: reader.format }
}
