/**
 * Figure 6, scale: N node peers and PAGES browser pages (tabs of one headless Chromium, browser.ts)
 * on one signaller, each with its own swipl-wasm worker and bench/bench_peer.pl; one node peer
 * (the source) bridges a UDP group. ASSERTS datagrams `send(assert(scale(K, T)))` go into the
 * source's group, RATE a second; every peer's prolog_listen/2 closure stamps when scale(K, T) is
 * asserted into its engine. The figure is, per assert, the time from the datagram until the last
 * of the N-1+PAGES other replicas holds it (p50, p99 over the asserts); the floor is the same until
 * the first of them holds it.
 *
 * N is 20 by default; BENCH_SCALE=20,50 runs each count given. The peers start in waves of
 * WAVE so that the 2 cores are not asked to load 50 WebAssembly engines at once; the signaller's
 * RSS with the N real peers is in `detail`.
 */
import { rm } from 'node:fs/promises'
import { freePort, makeDeployment, multicastSender } from '../test/support/processes.ts'
import { openPages, pageStamps } from './browser.ts'
import { healthz, nowMicros, paced, progress, ready, rssMb, sleep, startNodePeer, startSignaller, stats, waitSubscribers } from './support.ts'
import type { Pages } from './browser.ts'
import type { Figure } from './figure.ts'
import type { NodePeer } from './support.ts'

const ASSERTS = 200
const RATE = 20
const WAVE = 5
const WARMUP = 10
const PAGES = 2

export async function scale (): Promise<Figure[]> {
  const counts = (process.env.BENCH_SCALE ?? '20').split(',').map(Number).filter(n => Number.isInteger(n) && n >= 2)
  const figures: Figure[] = []
  for (const n of counts) figures.push(await scaleOnce(n))
  return figures
}

async function scaleOnce (n: number): Promise<Figure> {
  const port = await freePort()
  const deployment = await makeDeployment(port)
  const signaller = await startSignaller(deployment, { port })
  const peers: NodePeer[] = []
  let pages: Pages | undefined
  try {
    const began = performance.now()
    for (let i = 0; i < n; i += WAVE) {
      const wave = await Promise.all(Array.from({ length: Math.min(WAVE, n - i) }, async (_, j) =>
        await startNodePeer(deployment, `s${i + j}`, { port: i + j === 0 ? undefined : 0 })))
      peers.push(...wave)
      await Promise.all(wave.map(async p => { await ready(p) }))
      progress(`${peers.length} of ${n} node peers up (${((performance.now() - began) / 1000).toFixed(0)} s)`)
    }
    pages = await openPages(port, deployment.signallerId, PAGES)
    await waitSubscribers(signaller, n + PAGES)
    const upSeconds = (performance.now() - began) / 1000
    const signallerRss = await rssMb(signaller.proc.child.pid as number)
    const peerRss = stats(await Promise.all(peers.map(async p => await rssMb(p.proc.child.pid as number))))
    progress(`${n} node peers and ${PAGES} pages subscribed; signaller ${signallerRss.toFixed(0)} MB, a node peer ${peerRss.median.toFixed(0)} MB; ${ASSERTS} asserts at ${RATE}/s into s0's group`)
    const source = peers[0]
    const others = peers.slice(1)
    const from = new Map(others.map(p => [p, p.proc.lines.length]))
    const sender = await multicastSender()
    const firstK = 1_000_000
    // A few asserts first that are not measured: the first datagram of a new socket, the first
    // events through every peer's code paths.
    await paced(WARMUP + ASSERTS, RATE, i => { sender.send(`%-prolog-\nsend(assert(scale(${firstK - WARMUP + i},${nowMicros()})))`, source.port, '239.0.0.2') })
    // Not closed yet: closing a dgram socket drops the sends it has not done yet.
    await sleep(100)
    sender.close()
    // k -> delays (ms) at each other peer
    const arrivals = new Map<number, number[]>()
    const replicas = others.length + PAGES
    const arrived = (n: number, sent: number, now: number): void => {
      const k = n - firstK
      if (k < 0 || k >= ASSERTS) return
      const list = arrivals.get(k) ?? []
      list.push((now - sent) / 1000)
      arrivals.set(k, list)
    }
    const collect = async (): Promise<number> => {
      arrivals.clear()
      for (const p of others) {
        for (const line of p.proc.lines.slice(from.get(p))) {
          const m = line.match(/^applied scale (\d+) (\d+) (\d+)$/)
          if (m !== null) arrived(Number(m[1]), Number(m[2]), Number(m[3]))
        }
      }
      for (const page of pages?.pages ?? []) for (const [k, sent, now] of await pageStamps(page, 'scale')) arrived(k, sent, now)
      return [...arrivals.values()].filter(l => l.length === replicas).length
    }
    const deadline = performance.now() + 30_000
    while (await collect() < ASSERTS && performance.now() < deadline) await sleep(500)
    const complete = [...arrivals.values()].filter(l => l.length === replicas)
    let missing = ''
    if (complete.length < ASSERTS) {
      // Which peers lack a stamp, whether their replica lacks the clause too, and any stamp line
      // that came out garbled.
      const kbs = await Promise.all(peers.map(async p => (await healthz(p.http)).kb.clauses as number))
      const short = others.filter((p, i) => kbs[i + 1] < kbs[0]).map(p => p.name)
      const garbled = others.flatMap(p => p.proc.lines.slice(from.get(p)).filter(l => l.includes('scale') && !/^applied scale \d+ \d+ \d+$/.test(l)).map(l => `${p.name}: ${l}`))
      const nowhere = ASSERTS - arrivals.size
      const lost = Array.from({ length: ASSERTS }, (_, k) => k).filter(k => !arrivals.has(k)).slice(0, 5)
      const udp = (await healthz(source.http)).udp as Record<string, number>
      missing = `${ASSERTS - complete.length} of ${ASSERTS} asserts lack a stamp from some replica after 30 s (${nowhere} reached no other replica${nowhere === 0 ? '' : `: K = ${lost.join(', ')}`}; the source's bridge took ${udp.datagrams_in ?? 0} datagrams, ${udp.knowledge_changes ?? 0} changes); replicas holding fewer clauses than the source: ${short.length === 0 ? 'none' : short.join(', ')}; garbled lines: ${garbled.length === 0 ? 'none' : garbled.slice(0, 5).join(' | ')}`
      progress(`  ${missing}`)
      if (complete.length < ASSERTS / 2) throw new Error(missing)
    }
    const all = stats(complete.map(l => Math.max(...l)))
    const first = stats(complete.map(l => Math.min(...l)))
    progress(`  in every replica: p50 ${all.median.toFixed(1)} ms, p99 ${all.p99.toFixed(1)} ms; in the first: p50 ${first.median.toFixed(1)} ms`)
    return {
      name: `scale: assert at one of ${n} node peers (and ${PAGES} pages) → in every replica`,
      unit: 'ms',
      median: all.median,
      p99: all.p99,
      max: all.max,
      samples: all.count,
      floor: { name: 'the same, until the first other replica holds it', median: first.median, p99: first.p99, max: first.max },
      note: `${missing === '' ? '' : `INCOMPLETE: ${missing}. `}${ASSERTS} datagrams send(assert(scale(K,T))) at ${RATE}/s into one peer's group; stamped by a prolog_listen/2 closure in each of the ${n - 1} other node peers' and the ${PAGES} pages' engines; signaller RSS with them ${signallerRss.toFixed(0)} MB, node peer RSS median ${peerRss.median.toFixed(0)} MB`,
      detail: { peers: n, signallerRssMb: signallerRss, nodePeerRssMb: peerRss, upSeconds }
    }
  } finally {
    await pages?.close()
    await Promise.all(peers.map(async p => { await p.proc.stop() }))
    await signaller.proc.stop()
    await rm(deployment.dir, { recursive: true, force: true })
  }
}
