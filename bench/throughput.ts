/**
 * Figure 2, throughput: events per second from the UDP bridge of node peer A into the replica of
 * node peer B (through the signaller) with zero loss, for terms of 64 B, 1 KiB and 16 KiB; the
 * browser step (browser.ts) measures the same into a page's replica with throughputInto().
 *
 * Each event is a datagram `send(assert(tp(N, "xxx…")))` whose term text `tp(N,"xxx…")` is the
 * size named; A asserts it (one shared clause), B counts it when its replica has applied and
 * stored it (kb counter `remote_applied`, read from B's /healthz, which is O(1); /metrics
 * collects Node's default metrics on every call, an eighth of B's main thread at this polling
 * rate). The sender paces its datagrams over
 * STEP_SECONDS; the rate is doubled while B keeps up (nothing lost, the last event applied
 * within KEEP_UP_SECONDS of the last datagram), then bisected REFINE times between the last rate
 * kept up with and the first one not. A trial's achieved rate is the events B applied
 * divided by the time from the first datagram to the last event applied at B, so a backlog that
 * B drains after the sender stopped counts against it. The figure is the highest offered rate B
 * kept up with, or the achieved rate of a saturated trial without loss, whichever is higher.
 *
 * Floor in the same run: the same datagrams, paced the same way, into a plain dgram receiver in a
 * process of its own (udp-sink.ts): what UDP on loopback carries without loss into a Node event
 * loop, as the bridge's socket gets it.
 */
import { freePort, multicastSender } from '../test/support/processes.ts'
import { healthz, paced, progress, sleep, startProgram } from './support.ts'
import type { Figure } from './figure.ts'
import type { Pair } from './support.ts'

const GROUP = '239.0.0.2'
const STEP_SECONDS = 3
/** A trial keeps up if its last event is applied within this (or a quarter of the sending time) after its last datagram. */
const KEEP_UP_SECONDS = 1
/** How long B may apply nothing before the rest of a trial counts as lost. */
const STALL_MS = 10_000
/** Trials between the last rate kept up with and the first one not: the figure is within 1/2^REFINE of the doubling step. */
const REFINE = 2

interface Size { label: string, bytes: number, rates: number[], floorRates: number[] }
const SIZES: Size[] = [
  { label: '64 B', bytes: 64, rates: [1_000, 2_000, 4_000, 8_000, 16_000, 32_000], floorRates: [10_000, 20_000, 40_000, 80_000] },
  { label: '1 KiB', bytes: 1024, rates: [1_000, 2_000, 4_000, 8_000, 16_000, 32_000], floorRates: [10_000, 20_000, 40_000, 80_000] },
  { label: '16 KiB', bytes: 16 * 1024, rates: [250, 500, 1_000, 2_000, 4_000], floorRates: [1_000, 2_000, 4_000, 8_000, 16_000] }
]

export interface Trial { offered: number, sent: number, applied: number, lost: number, seconds: number, achieved: number, keptUp: boolean, intoBridge?: number }

/** The datagram text of event n, its term text `tp(N,"…")` of `bytes` bytes. */
function datagram (n: number, bytes: number): string {
  const head = `tp(${n},"`
  return `%-prolog-\nsend(assert(${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}")))`
}

/** A counter of a node peer's /metrics: `node_peer_counter{source="kb",counter="remote_applied"} 12`. */
async function metric (http: number, source: string, counter: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text()
  const match = text.match(new RegExp(`^node_peer_counter\\{source="${source}",counter="${counter}"\\} (\\d+)$`, 'm'))
  return match === null ? 0 : Number(match[1])
}

/** Where the events are counted: a replica's count of the remote events it applied. */
export interface Into {
  /** e.g. "2nd node peer's replica" */
  name: string
  applied: () => Promise<number>
  /** The 1 KiB target, events/s. */
  target: number
}

async function trial (pair: Pair, into: Into, bytes: number, offered: number): Promise<Trial> {
  const count = Math.round(offered * STEP_SECONDS)
  const texts = Array.from({ length: count }, (_, i) => datagram(1_000_000_000 + i, bytes))
  const sender = await multicastSender()
  const base = await into.applied()
  const baseIn = await metric(pair.a.http, 'udp', 'datagrams_in')
  const began = performance.now()
  let applied = 0
  let lastChange = began
  const sending = paced(count, offered, i => { sender.send(texts[i], pair.a.port, GROUP) })
  let sent = false
  void sending.then(() => { sent = true })
  while (applied < count) {
    await sleep(25)
    const now = await into.applied() - base
    if (now !== applied) { applied = now; lastChange = performance.now() }
    if (sent && performance.now() - lastChange > STALL_MS) break
  }
  await sending
  sender.close()
  const intoBridge = await metric(pair.a.http, 'udp', 'datagrams_in') - baseIn
  const seconds = (lastChange - began) / 1000
  const sendSeconds = count / offered
  // Kept up: nothing lost, and the last event applied soon after the last datagram left.
  const keptUp = applied === count && seconds - sendSeconds <= Math.max(KEEP_UP_SECONDS, 0.25 * sendSeconds)
  return { offered, sent: count, applied, lost: count - applied, seconds, achieved: applied / seconds, keptUp, intoBridge }
}

/** The floor: the same paced datagrams into a plain dgram receiver in a process of its own (udp-sink.ts). */
async function floorTrial (sink: Sink, bytes: number, offered: number): Promise<Trial> {
  const count = Math.round(offered * STEP_SECONDS)
  const texts = Array.from({ length: count }, (_, i) => datagram(1_000_000_000 + i, bytes))
  const sender = await multicastSender()
  const base = sink.count()
  const began = Date.now()
  const sendMs = await paced(count, offered, i => { sender.send(texts[i], sink.port, GROUP) })
  await sleep(300)
  sender.close()
  const received = sink.count() - base
  const seconds = Math.max(sendMs, sink.last() - began) / 1000
  return { offered, sent: count, applied: received, lost: count - received, seconds, achieved: received / seconds, keptUp: received === count }
}

interface Sink { port: number, count: () => number, last: () => number, stop: () => Promise<void> }

async function startSink (): Promise<Sink> {
  const port = await freePort()
  const proc = startProgram('udp sink', 'bench/udp-sink.ts', [String(port)])
  await proc.waitFor(/^ready$/)
  const latest = (): [number, number] => {
    for (let i = proc.lines.length - 1; i >= 0; i--) {
      const m = proc.lines[i].match(/^count (\d+) (\d+)$/)
      if (m !== null) return [Number(m[1]), Number(m[2])]
    }
    return [0, 0]
  }
  return { port, count: () => latest()[0], last: () => latest()[1], stop: async () => { await proc.stop() } }
}

/** The highest rate sustained without loss: the offered rate of a trial that kept up, or what a saturated trial without loss achieved. */
function best (trials: Trial[]): number {
  return Math.max(0, ...trials.filter(t => t.lost === 0).map(t => t.keptUp ? t.offered : t.achieved))
}

/**
 * Trials at the rates given, rising until one does not keep up; then REFINE more between the last
 * rate kept up with and that one, halving the interval each time.
 */
async function step (label: string, rates: number[], run: (rate: number) => Promise<Trial>): Promise<Trial[]> {
  const trials: Trial[] = []
  const attempt = async (rate: number): Promise<boolean> => {
    const t = await run(rate)
    trials.push(t)
    progress(`  ${label}: offered ${rate}/s → ${t.applied}/${t.sent} in ${t.seconds.toFixed(2)} s = ${Math.round(t.achieved)}/s${t.lost > 0 ? `, LOST ${t.lost}` : t.keptUp ? ', kept up' : ', fell behind'}`)
    await sleep(300)
    return t.keptUp
  }
  let kept = 0
  let missed: number | undefined
  for (const rate of rates) {
    // Lost events, or a backlog: a higher rate can only do worse.
    if (!await attempt(rate)) { missed = rate; break }
    kept = rate
  }
  for (let i = 0; i < REFINE && kept > 0 && missed !== undefined; i++) {
    const rate = Math.round((kept + missed) / 2)
    if (await attempt(rate)) kept = rate
    else missed = rate
  }
  return trials
}

export async function throughput (pair: Pair): Promise<Figure[]> {
  return await throughputInto(pair, { name: '2nd node peer\'s replica', applied: async () => (await healthz(pair.b.http)).kb.counters.remote_applied ?? 0, target: 20_000 })
}

/** The figures of `into`, each size with its floor measured just before. */
export async function throughputInto (pair: Pair, into: Into): Promise<Figure[]> {
  const figures: Figure[] = []
  const sink = await startSink()
  try {
    for (const size of SIZES) {
      progress(`${size.label} terms: UDP floor`)
      const floorTrials = await step('raw UDP', size.floorRates, async rate => await floorTrial(sink, size.bytes, rate))
      progress(`${size.label} terms: datagram into A → applied in the ${into.name}`)
      const trials = await step('into it', size.rates, async rate => {
        const t = await trial(pair, into, size.bytes, rate)
        // Let a backlog drain before the next trial.
        await sleep(1_000)
        return t
      })
      const value = best(trials)
      const floor = best(floorTrials)
      figures.push({
        name: `UDP bridge → ${into.name}, zero loss, ${size.label} terms`,
        unit: 'events/s',
        median: value,
        p99: value,
        max: value,
        samples: 1,
        floor: { name: 'raw UDP multicast into a dgram receiver process, zero loss', median: floor, p99: floor, max: floor },
        target: size.bytes === 1024 ? { text: `≥ ${into.target.toLocaleString('en')} events/s`, met: value >= into.target } : undefined,
        note: `paced trials of ${STEP_SECONDS} s at rising rates: the highest rate that the ${into.name} kept up with (nothing lost, the last event applied within ${KEEP_UP_SECONDS} s of the last datagram), or what a saturated trial without loss achieved (events applied there ÷ time from the first datagram to the last event applied), whichever is higher; median = p99 = max = that rate`,
        detail: { trials, floorTrials }
      })
    }
  } finally {
    await sink.stop()
  }
  return figures
}
