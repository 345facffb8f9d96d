/**
 * Figures 1 and 2 for a browser page: the built web app in headless Chromium (test/support's
 * launcher: Debian's chromium, driven by playwright-core), a member of the bench's network (the
 * signaller and node peers A and B of support.ts' startPair).
 *
 * - Latency: datagram `send(assert(lat(N, T)))` into node peer A's group, at a steady 200/s, 1,000
 *   events after 50 of warm-up → the clause asserted into the page's engine (its replica has
 *   stored the event in IndexedDB and handed it to Prolog), stamped there by bench/bench_peer.pl's
 *   prolog_listen/2 closure, kept in the page as bench_stamp/4 facts and collected after.
 *   Floor in the same run: raw UDP multicast one-way on loopback. Beside it, the same path for a
 *   message, which nobody stores: `send(lat_msg(N, T))` → the page's listen/2 handler.
 * - Throughput: the throughput step's paced trials (throughput.ts), counted by the page's replica
 *   (`remote_applied`, the same counter a node peer's /metrics shows).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { eventTopic } from '../core/net/constants.ts'
import { serveStatic } from '../node/static-server.ts'
import { launchChromium } from '../test/support/browser.ts'
import { eventually, freePort, multicastSender, ROOT } from '../test/support/processes.ts'
import { buildWww, WWW_DIST } from '../test/support/www.ts'
import { floorOf, rawUdp, summary } from './latency.ts'
import { healthz, machineBusy, NETWORK, nowMicros, paced, progress } from './support.ts'
import { throughputInto } from './throughput.ts'
import type { Figure } from './figure.ts'
import type { Pair } from './support.ts'
import type { BrowserPeer } from '../www/browser-peer.ts'
import type { Page } from 'playwright-core'

declare global {
  interface Window {
    /** [N, SentMicros, ArrivedMicros] of each lat/2 event the page received. */
    benchArrivals?: Array<[number, number, number]>
  }
}

const COUNT = 1000
const WARMUP = 50
const RATE = 200
const GROUP = '239.0.0.2'
/** The first N of the latency events, apart from the latency step's. */
const FIRST = 3_000_000
/** The first N of the page's message latency. */
const FIRST_MESSAGE = 4_000_000

export async function browserFigures (pair: Pair): Promise<Figure[]> {
  const { pages: [page], close } = await openPages(pair.signaller.port, pair.deployment.signallerId, 1)
  try {
    return [await latencyIntoPage(pair, page), await messagesIntoPage(pair, page), ...await throughputInto(pair, {
      name: 'browser page\'s replica',
      applied: async () => await page.evaluate(() => (window.p2pPeer as BrowserPeer).member.knowledge.counters.remote_applied ?? 0),
      target: 5_000
    })]
  } finally {
    await close()
  }
}

export interface Pages { pages: Page[], close: () => Promise<void> }

/**
 * `count` tabs of the built app in one headless Chromium (each tab is a peer of its own), members
 * of the network of the signaller on 127.0.0.1:port, with the bench program loaded.
 */
export async function openPages (port: number, signallerId: string, count: number): Promise<Pages> {
  progress('building the web app (parcel)')
  await buildWww()
  const config = { network: NETWORK, signallers: [`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${signallerId}`] }
  const server = await serveStatic(WWW_DIST, await freePort(), { files: { '/p2p-config.json': JSON.stringify(config) } })
  const browser = await launchChromium()
  const close = async (): Promise<void> => {
    await browser.close()
    await server.close()
  }
  try {
    const pages: Page[] = []
    for (let i = 0; i < count; i++) {
      progress(`opening page ${i + 1} of ${count} and joining the network`)
      pages.push(await openPage(await browser.open(server.url)))
    }
    return { pages, close }
  } catch (err) {
    await close()
    throw err
  }
}

/** The page, once its peer has started, subscribed and loaded the bench program (stamps kept). */
async function openPage (page: Page): Promise<Page> {
  await page.waitForFunction(() => window.p2pPeer !== undefined, undefined, { timeout: 60_000 })
  const program = await readFile(join(ROOT, 'bench', 'bench_peer.pl'), 'utf8')
  await page.evaluate(async (text) => {
    const peer = window.p2pPeer as BrowserPeer
    await peer.engine.consult(`${text}\n:- assertz(bench_keep_stamps).\n`, { source: '/bench/bench_peer.pl' })
    // Where the time goes: when each lat/2 event arrives in the page (decoded off gossipsub),
    // before its replica stores and applies it.
    const arrivals: Array<[number, number, number]> = []
    window.benchArrivals = arrivals
    peer.member.channel.onBatch(batch => {
      const now = Math.round((performance.timeOrigin + performance.now()) * 1000)
      for (const event of batch.events) {
        if (event.kind !== 'assert' || typeof event.clause !== 'object' || !('functor' in event.clause) || event.clause.functor !== 'lat') continue
        const [n, sent] = event.clause.args
        arrivals.push([Number(n), Number(sent), now])
      }
    })
  }, program)
  await eventually(async () => await page.evaluate((topic) => {
    const peer = window.p2pPeer as BrowserPeer
    return peer.libp2p.services.pubsub.getSubscribers(topic).length > 0
  }, eventTopic(NETWORK)), { timeout: 60_000, describe: () => 'the page subscribed to the signaller' })
  return page
}

async function latencyIntoPage (pair: Pair, page: Page): Promise<Figure> {
  progress('raw UDP multicast one-way (floor)')
  const raw = await rawUdp()
  progress('datagram send(assert(lat(N,T))) into A → applied in the page\'s replica (prolog_listen)')
  const made = async (): Promise<number> => (await healthz(pair.a.http)).kb.counters.local_events ?? 0
  const applied = async (): Promise<number> => await page.evaluate(() => (window.p2pPeer as BrowserPeer).member.knowledge.counters.remote_applied ?? 0)
  const [madeBefore, appliedBefore] = [await made(), await applied()]
  const { busy } = await machineBusy(async () => { await sendIntoA(pair, FIRST, (n, sent) => `send(assert(lat(${n},${sent})))`) })
  // Every event node peer A made of them reaches the page. A datagram the kernel dropped on its way
  // into A (a loaded machine) made none: counted as lost, not waited for.
  let progressText = ''
  await eventually(async () => {
    const [m, a] = [await made() - madeBefore, await applied() - appliedBefore]
    progressText = `A made ${m} events of ${WARMUP + COUNT} datagrams, the page applied ${a}`
    return a >= m && m > 0
  }, { timeout: 60_000, interval: 500, describe: () => progressText })
  const stamps = (await pageStamps(page, 'lat')).filter(([n]) => n >= FIRST + WARMUP && n < FIRST + WARMUP + COUNT)
  const lost = COUNT - stamps.length
  if (lost > COUNT / 100) throw new Error(`${lost} of ${COUNT} events never reached the page (${progressText})`)
  const delays = summary(stamps.map(([, sent, now]) => (now - sent) / 1000))
  const arrived = summary((await page.evaluate(() => window.benchArrivals ?? []))
    .filter(([n]) => n >= FIRST + WARMUP && n < FIRST + WARMUP + COUNT).map(([, sent, now]) => (now - sent) / 1000))
  progress(`  median ${delays.median.toFixed(3)} ms, p99 ${delays.p99.toFixed(3)} ms (arrived in the page after ${arrived.median.toFixed(3)} ms, p99 ${arrived.p99.toFixed(3)}; raw UDP ${raw.median.toFixed(3)} ms; the machine ${percent(busy)} busy)`)
  return {
    name: 'datagram → browser page\'s replica (assert, 200/s)',
    unit: 'ms',
    ...delays,
    floor: floorOf('raw UDP multicast one-way, loopback', raw),
    target: { text: 'p50 ≤ 5 ms, p99 ≤ 25 ms', met: delays.median <= 5 && delays.p99 <= 25 },
    note: `${lost === 0 ? '' : `${lost} datagrams lost on the way into A; `}send(assert(lat(N,T))) into node peer A's group; stamped by a prolog_listen/2 closure in the page's engine (a Web Worker) when the clause is asserted there, after the page stored the event in IndexedDB; the path: A's bridge and engine, the signaller, the page's WebSocket. On the way: arrived in the page (decoded off gossipsub) after a median ${arrived.median.toFixed(2)} ms (p99 ${arrived.p99.toFixed(2)}). The machine (both cores, every process) was ${percent(busy)} busy while they were sent`,
    detail: { arrivedInPage: arrived, lost, machineBusy: busy }
  }
}

/**
 * The same path for a message, which no replica stores: `send(lat_msg(N,T))` into A → the page's
 * listen/2 handler. What the kb path costs beyond it is the stores (A's, with an fsync, before it
 * publishes; the page's IndexedDB) and the replicas.
 */
async function messagesIntoPage (pair: Pair, page: Page): Promise<Figure> {
  progress('datagram send(lat_msg(N,T)) into A → the page\'s listen/2 handler (a message, not stored)')
  const { busy } = await machineBusy(async () => { await sendIntoA(pair, FIRST_MESSAGE, (n, sent) => `send(lat_msg(${n},${sent}))`) })
  const measured = ([n]: [number, number, number]): boolean => n >= FIRST_MESSAGE + WARMUP && n < FIRST_MESSAGE + WARMUP + COUNT
  let stamps: Array<[number, number, number]> = []
  // Nothing repairs a lost message: wait for all of them, or for 1 % lost at most.
  await eventually(async () => (stamps = (await pageStamps(page, 'lat_msg')).filter(measured)).length >= COUNT, { timeout: 15_000, interval: 500 })
    .catch(() => { if (stamps.length < COUNT * 0.99) throw new Error(`${COUNT - stamps.length} of ${COUNT} messages never reached the page`) })
  const delays = summary(stamps.map(([, sent, now]) => (now - sent) / 1000))
  progress(`  median ${delays.median.toFixed(3)} ms, p99 ${delays.p99.toFixed(3)} ms (the machine ${percent(busy)} busy)`)
  return {
    name: 'datagram → browser page\'s listen/2 (message, 200/s)',
    unit: 'ms',
    ...delays,
    note: `send(lat_msg(N,T)) into node peer A's group; stamped by a listen/2 handler in the page's engine. The kb path without the stores${COUNT - stamps.length > 0 ? `; ${COUNT - stamps.length} messages lost` : ''}. The machine was ${percent(busy)} busy while they were sent`,
    detail: { machineBusy: busy }
  }
}

function percent (share: number): string {
  return `${Math.round(share * 100)} %`
}

/** WARMUP + COUNT datagrams `%-prolog-\n<text(n, sentMicros)>` into A's group at RATE, n from `first`. */
async function sendIntoA (pair: Pair, first: number, text: (n: number, sentMicros: number) => string): Promise<void> {
  const sender = await multicastSender()
  let unsent = 0
  try {
    await paced(WARMUP + COUNT, RATE, i => {
      unsent++
      sender.send(`%-prolog-\n${text(first + i, nowMicros())}`, pair.a.port, GROUP, () => { unsent-- })
    })
    // Closing a dgram socket drops the sends it has not done yet.
    await eventually(() => unsent === 0, { timeout: 10_000 })
  } finally {
    sender.close()
  }
}

/** [N, SentMicros, NowMicros] of every bench_stamp(Name, …) fact of the page's engine. */
export async function pageStamps (page: Page, name: 'lat' | 'lat_msg' | 'scale'): Promise<Array<[number, number, number]>> {
  return await page.evaluate(async (name) => {
    const engine = (window.p2pPeer as BrowserPeer).engine
    for await (const answer of engine.queryText(`findall([N,S,W], bench_stamp(${name}, N, S, W), L)`, { sandbox: false })) {
      if (answer.status === 'error') throw answer.error
      if (answer.status === 'success') return (answer.bindings.L as bigint[][]).map(([n, s, w]) => [Number(n), Number(s), Number(w)] as [number, number, number])
    }
    return []
  }, name)
}
