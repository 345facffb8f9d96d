/**
 * A diagnostic, not a figure of `npm run bench`: the CPU time each process of the throughput
 * path spends on one event, at a steady rate below what the path keeps up with. A signaller and
 * node peers A and B (support.ts' startPair); COUNT datagrams `send(assert(tp(N, "xxx…")))` of
 * SIZE bytes into A's group at RATE a second, after WARM_UP of the same to let V8 optimise; then
 * the user + system time of every thread of each process (from /proc), divided by the events:
 * the main thread apart, the others (the engine worker, V8's GC helpers, libuv's pool) together.
 * KIND=message sends `send(tp(N, "xxx…"))` instead, which nobody stores.
 *
 *   sh test/netns.sh node --import tsx bench/cpu-per-event.ts [SIZE] [RATE] [COUNT]
 */
import { readdir } from 'node:fs/promises'
import { multicastSender } from '../test/support/processes.ts'
import { cpuSeconds, healthz, machineBusy, paced, sleep, startPair } from './support.ts'
import type { Pair } from './support.ts'

const SIZE = Number(process.argv[2] ?? 1024)
const RATE = Number(process.argv[3] ?? 2000)
const COUNT = Number(process.argv[4] ?? 10_000)
const WARM_UP = 10_000
const MESSAGES = process.env.KIND === 'message'
const GROUP = '239.0.0.2'

/** CPU seconds of each thread of a process, by thread id. */
async function threadSeconds (pid: number): Promise<Map<number, number>> {
  const seconds = new Map<number, number>()
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const used = await cpuSeconds(`/proc/${pid}/task/${tid}/stat`)
    if (used !== undefined) seconds.set(Number(tid), used)
  }
  return seconds
}

function datagram (n: number): string {
  const head = `tp(${n},"`
  const term = `${head}${'x'.repeat(Math.max(0, SIZE - head.length - 2))}")`
  return `%-prolog-\n${MESSAGES ? `send(${term})` : `send(assert(${term}))`}`
}

/**
 * Sends `count` datagrams from N = first at RATE; resolves, once B's replica has applied them or
 * applied nothing more for a second, with how many it applied (kb events only).
 */
async function send (pair: Pair, first: number, count: number): Promise<number> {
  const texts = Array.from({ length: count }, (_, i) => datagram(first + i))
  const applied = async (): Promise<number> => (await healthz(pair.b.http)).kb.counters.remote_applied ?? 0
  const before = await applied()
  const sender = await multicastSender()
  try {
    await paced(count, RATE, i => { sender.send(texts[i], pair.a.port, GROUP) })
  } finally {
    sender.close()
  }
  let now = await applied()
  for (let last = -1; !MESSAGES && now - before < count && now !== last; now = await applied()) {
    last = now
    await sleep(1_000)
  }
  return now - before
}

const pair = await startPair()
try {
  const processes = { signaller: pair.signaller.proc, 'node peer A': pair.a.proc, 'node peer B': pair.b.proc }
  const pids = Object.fromEntries(Object.entries(processes).map(([name, proc]) => [name, proc.child.pid as number]))
  await send(pair, 1_000_000_000, WARM_UP)
  const before = Object.fromEntries(await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, await threadSeconds(pid)] as const)))
  const { busy, result: applied } = await machineBusy(async () => await send(pair, 2_000_000_000, COUNT))
  const lost = MESSAGES ? '' : ` (B applied ${applied})`
  console.log(`${COUNT} ${MESSAGES ? 'messages' : 'kb events'} of ${SIZE} B at ${RATE}/s${lost}; the machine ${Math.round(busy * 100)} % busy meanwhile. CPU µs an event:`)
  let total = 0
  for (const [name, pid] of Object.entries(pids)) {
    const after = await threadSeconds(pid)
    let main = 0
    let others = 0
    for (const [tid, seconds] of after) {
      const used = seconds - (before[name].get(tid) ?? 0)
      if (tid === pid) main += used
      else others += used
    }
    const perEvent = (s: number): string => (s * 1e6 / COUNT).toFixed(0)
    console.log(`  ${name}: ${perEvent(main + others)} (main thread ${perEvent(main)}, other threads ${perEvent(others)})`)
    total += main + others
  }
  console.log(`  together: ${(total * 1e6 / COUNT).toFixed(0)} µs an event`)
} finally {
  await pair.stop()
}
