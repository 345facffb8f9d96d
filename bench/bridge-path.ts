/**
 * A diagnostic, not a figure of `npm run bench`: what the engine worker alone costs on the UDP
 * bridge's way in, for `send(assert(tp(N, "…")))` datagrams of 64 B, 1 KiB and 16 KiB terms, in
 * batches of BATCH as the bridge hands them over under load (at most 512). The bridge makes one
 * worker call a batch, receiveUdp (node-peer/udp-bridge.ts): SWI-Prolog reads each datagram and
 * asserts its clause (p2p_kb:kb_update_datagrams/2); the engine reports each new clause to
 * onKbChange. For reference, decodeUdp: reading alone, each term converted to JavaScript. And the
 * JavaScript check before reading: nestsDeeperThan, and the full scan textNesting it falls back
 * to. No network, no store: the ceiling the engine puts on the bridge's events per second.
 *
 *   node --import tsx bench/bridge-path.ts [BATCH] [BATCHES]
 */
import '../node/node20.ts'
import { readFile } from 'node:fs/promises'
import { nestsDeeperThan, textNesting } from '../core/engine/text-nesting.ts'
import { createNodeEngine } from '../node-peer/engine-host.ts'

const BATCH = Number(process.argv[2] ?? 500)
const BATCHES = Number(process.argv[3] ?? 20)
const WARM_UP = 2

let reported = 0
const engine = await createNodeEngine({ onKbChange: () => { reported++ }, onOutput: () => {} })
await engine.consult(await readFile(new URL('./bench_peer.pl', import.meta.url), 'utf8'), { source: 'bench/bench_peer.pl' })

let n = 0
const utf8 = new TextEncoder()
const fromBytes = new TextDecoder()
/** Texts as the bridge has them: decoded from a datagram's bytes (flat strings, not the ropes that concatenation makes). */
const batch = (bytes: number): string[] => Array.from({ length: BATCH }, () => {
  const head = `tp(${1_000_000_000 + n++},"`
  return fromBytes.decode(utf8.encode(`%-prolog-\nsend(assert(${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}")))`))
})

/** Milliseconds of `fn` on each batch, summed over the batches after the warm-up. */
async function timed (bytes: number, fn: (texts: string[]) => unknown): Promise<number> {
  let ms = 0
  for (let b = 0; b < BATCHES + WARM_UP; b++) {
    const texts = batch(bytes)
    const t = performance.now()
    await fn(texts)
    if (b >= WARM_UP) ms += performance.now() - t
  }
  return ms
}

for (const bytes of [64, 1024, 16 * 1024]) {
  const check = await timed(bytes, texts => texts.forEach(text => nestsDeeperThan(text, 1_000)))
  const scan = await timed(bytes, texts => texts.forEach(text => textNesting(text)))
  const decode = await timed(bytes, async texts => await engine.decodeUdp(texts))
  const receive = await timed(bytes, async texts => {
    const results = await engine.receiveUdp(texts)
    if (results.some(r => !('kind' in r) || r.kind !== 'change' || r.error !== undefined)) throw new Error(`not all applied: ${JSON.stringify(results[0])}`)
  })
  const events = BATCH * BATCHES
  const perEvent = (ms: number): string => `${(1000 * ms / events).toFixed(1)} µs`
  console.log(`${bytes} B terms, batches of ${BATCH}: receiveUdp ${perEvent(receive)} an event (read and assert; reading alone, decodeUdp: ${perEvent(decode)}); nesting check ${perEvent(check)} (full scan ${perEvent(scan)}); ceiling ${Math.round(events / (receive / 1000))} events/s`)
}
console.log(`(${reported} changes reported)`)
await engine.close()
