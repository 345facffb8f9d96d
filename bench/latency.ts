/**
 * Figure 1, latency at a steady 200 events/s, 1,000 events each (after 50 of warm-up):
 *
 * - datagram `send(assert(lat(N, T)))` into node peer A's group → the clause applied in node
 *   peer B's engine (A's bridge decodes it, A's engine asserts it, A stores and publishes the
 *   event, the signaller forwards it, B stores it and asserts it into its engine, where a
 *   prolog_listen/2 closure of bench/bench_peer.pl stamps the moment: "applied in B's replica");
 * - datagram `send(lat_msg(N, T))` → B's listen/2 handler (a network message, not stored);
 * - datagram → a stock swipl's listen/2 on B's group (bench/latency_listener.pl), with, as its
 *   floor, the same datagrams straight into B's group.
 *
 * Floors in the same run: raw UDP multicast one-way on loopback (a dgram receiver in this
 * process) and, as what a user would otherwise pick, Redis pub/sub (redis.ts).
 */
import { createSocket } from 'node:dgram'
import { eventually, freePort, multicastSender, start } from '../test/support/processes.ts'
import { eventTopic } from '../core/net/constants.ts'
import { isCompound } from '../core/wire/term.ts'
import { startLightClient } from './light-client.ts'
import { RespClient, redisAvailable, startRedis } from './redis.ts'
import { machineBusy, NETWORK, nowMicros, paced, progress, stats } from './support.ts'
import type { Figure, Floor } from './figure.ts'
import type { Pair } from './support.ts'
import type { Proc } from '../test/support/processes.ts'

const COUNT = 1000
const WARMUP = 50
const RATE = 200
const GROUP = '239.0.0.2'
/** The first N of each measurement (warm-up included), apart so that their stamps cannot mix. */
const KB_FIRST = 1_000_000
const MESSAGE_FIRST = 2_000_000

export type Delays = { median: number, p99: number, max: number, samples: number }

export function summary (delaysMs: number[]): Delays {
  const s = stats(delaysMs)
  return { median: s.median, p99: s.p99, max: s.max, samples: s.count }
}

export function floorOf (name: string, d: Delays): Floor {
  return { name, median: d.median, p99: d.p99, max: d.max }
}

export async function latency (pair: Pair): Promise<Figure[]> {
  progress('raw UDP multicast one-way (floor)')
  const raw = await rawUdp()
  progress(`  median ${raw.median.toFixed(3)} ms`)
  let redis: Delays | undefined
  if (redisAvailable()) {
    progress('Redis pub/sub through redis-server (reference)')
    redis = await redisPubSub()
    progress(`  median ${redis.median.toFixed(3)} ms`)
  } else {
    progress('redis-server is missing (apt-get install -y redis-server): no Redis reference')
  }
  const sender = await multicastSender()
  try {
    progress('datagram send(assert(lat(N,T))) into A → applied in B\'s engine (prolog_listen)')
    // Where the time goes: A's own engine stamps its assert too, and a light libp2p client on the
    // signaller stamps when the event leaves the signaller.
    const probe = new Map<number, number>()
    const client = await startLightClient(`/ip4/127.0.0.1/tcp/${pair.signaller.port}/ws/p2p/${pair.deployment.signallerId}`, NETWORK, (events) => {
      const now = nowMicros()
      for (const event of events) {
        if (event.kind === 'assert' && isCompound(event.clause, 'lat', 2)) probe.set(Number(event.clause.args[0]), (now - Number(event.clause.args[1])) / 1000)
      }
    })
    const fromA = pair.a.proc.lines.length
    let kb: Delays
    let kbBusy: number
    try {
      await eventually(() => client.libp2p.services.pubsub.getSubscribers(eventTopic(NETWORK)).length > 0, { timeout: 20_000 })
      const run = await machineBusy(async () => await throughPeer(pair.b.proc, /^applied lat (\d+) (\d+) (\d+)$/, (i, t) => {
        sender.send(`%-prolog-\nsend(assert(lat(${i},${t})))`, pair.a.port, GROUP)
      }, KB_FIRST))
      kb = run.result
      kbBusy = run.busy
    } finally {
      await client.stop()
    }
    const measured = (n: number): boolean => n - KB_FIRST >= WARMUP && n - KB_FIRST < WARMUP + COUNT
    const atA = summary(pair.a.proc.lines.slice(fromA).map(l => l.match(/^applied lat (\d+) (\d+) (\d+)$/))
      .filter(m => m !== null && measured(Number(m[1]))).map(m => (Number((m as RegExpMatchArray)[3]) - Number((m as RegExpMatchArray)[2])) / 1000))
    const atSignaller = summary([...probe.entries()].filter(([n]) => measured(n)).map(([, d]) => d))
    progress(`  median ${kb.median.toFixed(3)} ms (asserted in A's engine after ${atA.median.toFixed(3)} ms, out of the signaller after ${atSignaller.median.toFixed(3)} ms; the machine ${Math.round(kbBusy * 100)} % busy)`)
    progress('datagram send(lat_msg(N,T)) into A → B\'s listen/2 handler')
    const message = await throughPeer(pair.b.proc, /^heard (\d+) (\d+) (\d+)$/, (i, t) => {
      sender.send(`%-prolog-\nsend(lat_msg(${i},${t}))`, pair.a.port, GROUP)
    }, MESSAGE_FIRST)
    progress(`  median ${message.median.toFixed(3)} ms`)
    progress('datagram into A → a stock swipl\'s listen/2 on B\'s group, and straight into B\'s group (floor)')
    const swipl = start('swipl', 'swipl', ['bench/latency_listener.pl', String(pair.b.port)])
    await swipl.waitFor(/^ready$/)
    const direct = await throughSwipl(swipl, pair.b.port, 0)
    const remote = await throughSwipl(swipl, pair.a.port, 10 * COUNT)
    await swipl.stop()
    progress(`  median ${remote.median.toFixed(3)} ms, straight ${direct.median.toFixed(3)} ms`)

    const floor = floorOf('raw UDP multicast one-way, loopback', raw)
    const reference = redis === undefined ? undefined : floorOf('Redis 7 pub/sub, PUBLISH → subscriber via redis-server', redis)
    return [
      { name: 'datagram → 2nd node peer\'s replica (assert, 200/s)', unit: 'ms', ...kb, floor, reference, note: `send(assert(lat(N,T))) into node peer A's group; stamped by a prolog_listen/2 closure in node peer B's engine when the clause is asserted there (after B stored the event). On the way: asserted in A's engine after a median ${atA.median.toFixed(2)} ms (p99 ${atA.p99.toFixed(2)}), out of the signaller (a light libp2p client's view) after ${atSignaller.median.toFixed(2)} ms (p99 ${atSignaller.p99.toFixed(2)}). The machine (both cores, every process) was ${Math.round(kbBusy * 100)} % busy meanwhile`, detail: { assertedInA: atA, outOfSignaller: atSignaller, machineBusy: kbBusy } },
      { name: 'datagram → 2nd node peer\'s listen/2 (message, 200/s)', unit: 'ms', ...message, floor, reference, note: 'send(lat_msg(N,T)) into A\'s group; stamped by a listen/2 handler in B\'s engine' },
      { name: 'datagram → stock swipl on 2nd peer\'s group (200/s)', unit: 'ms', ...remote, floor: floorOf('the same datagrams straight into that group (UDP + swipl\'s decoding)', direct), reference, note: 'through A, the signaller and B\'s bridge to a stock swipl\'s listen/2 (bench/latency_listener.pl)' }
    ]
  } finally {
    sender.close()
  }
}

/** Sends WARMUP + COUNT events through `send(i, sentMicros)` and reads B's stamps from its output. */
async function throughPeer (peer: Proc, pattern: RegExp, send: (i: number, sentMicros: number) => void, firstN: number): Promise<Delays> {
  const from = peer.lines.length
  await paced(WARMUP + COUNT, RATE, i => { send(firstN + i, nowMicros()) })
  const delays = new Map<number, number>()
  const collect = (): number => {
    for (const line of peer.lines.slice(from)) {
      const m = line.match(pattern)
      if (m === null) continue
      const n = Number(m[1]) - firstN
      if (n >= WARMUP && n < WARMUP + COUNT) delays.set(n, (Number(m[3]) - Number(m[2])) / 1000)
    }
    return delays.size
  }
  await eventually(() => collect() >= COUNT, { timeout: 30_000, describe: () => `${delays.size} of ${COUNT} arrived` })
  return summary([...delays.values()])
}

/** A stock swipl's listen/2 prints `lat N Micros` (its own clock minus the sent stamp). */
async function throughSwipl (swipl: Proc, port: number, firstN: number): Promise<Delays> {
  const sender = await multicastSender()
  const from = swipl.lines.length
  await paced(WARMUP + COUNT, RATE, i => {
    sender.send(`%-prolog-\nsend(lat(${firstN + i},${nowMicros()}))`, port, GROUP)
  })
  const delays = new Map<number, number>()
  const collect = (): number => {
    for (const line of swipl.lines.slice(from)) {
      const m = line.match(/^lat (\d+) (-?\d+)$/)
      if (m === null) continue
      const n = Number(m[1]) - firstN
      if (n >= WARMUP && n < WARMUP + COUNT) delays.set(n, Number(m[2]) / 1000)
    }
    return delays.size
  }
  try {
    await eventually(() => collect() >= COUNT, { timeout: 30_000, describe: () => `${delays.size} of ${COUNT} arrived` })
  } finally {
    sender.close()
  }
  return summary([...delays.values()])
}

/** Raw UDP multicast on loopback: a sender and a group member in this process. */
export async function rawUdp (): Promise<Delays> {
  const port = await freePort()
  const receiver = createSocket({ type: 'udp4', reuseAddr: true })
  await new Promise<void>(resolve => receiver.bind(port, resolve))
  receiver.addMembership(GROUP, '127.0.0.1')
  const delays: number[] = []
  receiver.on('message', (bytes) => {
    const now = nowMicros()
    const [n, sent] = bytes.toString().split(' ').map(Number)
    if (n >= WARMUP) delays.push((now - sent) / 1000)
  })
  const sender = await multicastSender()
  try {
    await paced(WARMUP + COUNT, RATE, i => { sender.send(`${i} ${nowMicros()}`, port, GROUP) })
    await eventually(() => delays.length >= COUNT, { timeout: 10_000, describe: () => `${delays.length} of ${COUNT} datagrams arrived` })
  } finally {
    sender.close()
    receiver.close()
  }
  return summary(delays)
}

/** PUBLISH on one connection → the message on a subscribed connection, through redis-server. */
async function redisPubSub (): Promise<Delays> {
  const redis = await startRedis()
  const subscriber = await RespClient.connect(redis.port)
  const publisher = await RespClient.connect(redis.port)
  try {
    const delays: number[] = []
    let subscribed: () => void = () => {}
    const ready = new Promise<void>(resolve => { subscribed = resolve })
    subscriber.onMessage = (_channel, payload) => {
      const now = nowMicros()
      const [n, sent] = payload.split(' ').map(Number)
      if (n >= WARMUP) delays.push((now - sent) / 1000)
    }
    void subscriber.command('SUBSCRIBE', 'bench').then(() => { subscribed() })
    await ready
    await paced(WARMUP + COUNT, RATE, i => { publisher.write('PUBLISH', 'bench', `${i} ${nowMicros()}`) })
    await eventually(() => delays.length >= COUNT, { timeout: 10_000, describe: () => `${delays.length} of ${COUNT} messages arrived` })
    return summary(delays)
  } finally {
    subscriber.close()
    publisher.close()
    await redis.proc.stop()
  }
}
