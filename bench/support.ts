/**
 * What the bench steps share: starting a signaller and node peers as real processes (through
 * test/support/processes.ts, so only inside the private network namespace of test/netns.sh),
 * reading their /healthz and RSS, statistics, pacing and progress on stderr.
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { eventually, freePort, getJson, makeDeployment, ROOT, start } from '../test/support/processes.ts'
import type { Proc } from '../test/support/processes.ts'

export type Deployment = Awaited<ReturnType<typeof makeDeployment>>

/** The network name of makeDeployment's identity (test/support/processes.ts): it names the topic. */
export const NETWORK = 'test'

/** The program every bench node peer loads: shared predicates and the stamps of bench_peer.pl. */
export const BENCH_PROGRAM = 'bench/bench_peer.pl'

export function progress (text: string): void {
  process.stderr.write(`bench:   ${text}\n`)
}

export interface Stats { median: number, p99: number, max: number, count: number }

/** Median, 99th percentile (nearest rank) and maximum. */
export function stats (values: readonly number[]): Stats {
  if (values.length === 0) return { median: NaN, p99: NaN, max: NaN, count: 0 }
  const sorted = [...values].sort((a, b) => a - b)
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
  return { median: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1], count: sorted.length }
}

/** Wall-clock microseconds, sub-millisecond, comparable across processes of this machine. */
export function nowMicros (): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000)
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/**
 * How busy the whole machine (every core, every process) was while `work` ran, 0..1, from the
 * first line of /proc/stat: whether a figure was measured on a saturated machine.
 */
export async function machineBusy<T> (work: () => Promise<T>): Promise<{ result: T, busy: number }> {
  const before = await cpuTimes()
  const result = await work()
  const after = await cpuTimes()
  const total = after.total - before.total
  return { result, busy: total > 0 ? 1 - (after.idle - before.idle) / total : 0 }
}

/**
 * Waits, up to `maxMs`, for a second in which the machine is at most `idleBelow` busy: the
 * processes of the step before (a browser exiting, the kernel writing their files back) must not
 * be measured with the next. Resolves with how busy the last second was.
 */
export async function settle (idleBelow = 0.15, maxMs = 15_000): Promise<number> {
  const until = performance.now() + maxMs
  let busy = 1
  while (performance.now() < until) {
    busy = (await machineBusy(async () => { await sleep(1_000) })).busy
    if (busy <= idleBelow) break
  }
  return busy
}

async function cpuTimes (): Promise<{ idle: number, total: number }> {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  return { idle: fields[3] + fields[4], total: fields.reduce((sum, n) => sum + n, 0) } // idle + iowait
}

/**
 * User + system CPU seconds so far of a process (`/proc/PID/stat`) or of one of its threads
 * (`/proc/PID/task/TID/stat`): fields 14 and 15, in clock ticks of 1/100 s. Undefined once it ended.
 */
export async function cpuSeconds (statFile: string): Promise<number | undefined> {
  const stat = await readFile(statFile, 'utf8').catch(() => undefined)
  if (stat === undefined) return undefined
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
}

const CLOCK_TICKS_PER_SECOND = 100

/** Resident set size of a process in MB (VmRSS of /proc/PID/status; worker threads included). */
export async function rssMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB$/m)
  if (match === null) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) / 1024
}

export interface Signaller { proc: Proc, port: number, http: number }

/**
 * A program as a process, like test/support's startTs. The signaller and the node peer run
 * bundled, as their Docker images run them (dist/, built by `npm run bench` first); the bench's
 * own helpers run from TypeScript. BENCH_PROFILE=DIR runs it with --cpu-prof into DIR (one
 * .cpuprofile per thread, worker threads included, written when the process exits, e.g. on
 * SIGTERM); open them in Chrome DevTools' Performance panel.
 */
export function startProgram (name: string, script: string, args: string[]): Proc {
  const dir = process.env.BENCH_PROFILE
  const profile = dir === undefined || dir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', dir]
  const program = COMPILED_PROGRAMS.has(script)
    ? [join(ROOT, 'dist', script.replace(/\.ts$/, '.js'))]
    : ['--import', 'tsx', join(ROOT, script)]
  return start(name, process.execPath, [...profile, ...program, ...args])
}

const COMPILED_PROGRAMS = new Set(['signaller/main.ts', 'node-peer/main.ts'])

export async function startSignaller (deployment: Deployment, options: { dataDir?: string, port?: number } = {}): Promise<Signaller> {
  const port = options.port ?? await freePort()
  const http = await freePort()
  const proc = startProgram('signaller', 'signaller/main.ts', [
    '--identity', deployment.identity, '--data-dir', options.dataDir ?? `${deployment.dir}/signaller`,
    '--host', '127.0.0.1', '--port', String(port), '--http-port', String(http)
  ])
  await proc.waitFor(/status on http/, { timeout: 120_000 })
  return { proc, port, http }
}

export interface NodePeer { name: string, proc: Proc, http: number, port: number, startedAt: number }

/**
 * A node peer with the bench program; `port` 0 runs no UDP bridge. Resolves once the process
 * runs (not once it is ready: wait for that with {@link ready}).
 */
export async function startNodePeer (deployment: Deployment, name: string, options: { port?: number, consult?: string | false, peers?: string, extra?: string[] } = {}): Promise<NodePeer> {
  const port = options.port ?? await freePort()
  const http = await freePort()
  const consult = options.consult ?? BENCH_PROGRAM
  const startedAt = performance.now()
  const proc = startProgram(`node-peer ${name}`, 'node-peer/main.ts', [
    '--identity', deployment.identity, '--peers', options.peers ?? deployment.peers, '--name', name,
    '--port', String(port), '--http-port', String(http), '--data-dir', `${deployment.dir}/${name}`,
    ...(consult === false ? [] : ['--consult', consult]), ...(options.extra ?? [])
  ])
  return { name, proc, http, port, startedAt }
}

/** Waits until a node peer serves /healthz. */
export async function ready (peer: NodePeer, timeout = 180_000): Promise<void> {
  await peer.proc.waitFor(/status on http/, { timeout })
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of our own /healthz
export async function healthz (http: number): Promise<any> {
  return await getJson(`http://127.0.0.1:${http}/healthz`)
}

export async function subscribers (signaller: Signaller): Promise<number> {
  return (await healthz(signaller.http)).subscribers
}

/** Waits until the signaller counts `n` subscribers of the event topic. */
export async function waitSubscribers (signaller: Signaller, n: number, timeout = 120_000): Promise<void> {
  let last = 0
  await eventually(async () => (last = await subscribers(signaller)) >= n, { timeout, interval: 250, describe: () => `${last} of ${n} subscribed` })
}

/** A signaller and node peers A (the bridge that datagrams go into) and B (where they are measured). */
export interface Pair { deployment: Deployment, signaller: Signaller, a: NodePeer, b: NodePeer, stop: () => Promise<void> }

export async function startPair (): Promise<Pair> {
  const signallerPort = await freePort()
  const deployment = await makeDeployment(signallerPort)
  const signaller = await startSignaller(deployment, { port: signallerPort })
  const a = await startNodePeer(deployment, 'a')
  const b = await startNodePeer(deployment, 'b')
  await Promise.all([ready(a), ready(b)])
  await waitSubscribers(signaller, 2)
  return {
    deployment,
    signaller,
    a,
    b,
    stop: async () => {
      await Promise.all([a, b].map(async p => { await p.proc.stop() }))
      await signaller.proc.stop()
      await rm(deployment.dir, { recursive: true, force: true })
    }
  }
}

/**
 * Calls `send(i)` for i = 0..count-1 at `rate` per second, in small bursts whenever the event loop
 * comes round (a timer cannot wake more often than every ~1 ms): datagram i leaves at i/rate s.
 */
export async function paced (count: number, rate: number, send: (i: number) => void): Promise<number> {
  const started = performance.now()
  let i = 0
  while (i < count) {
    const due = Math.min(count, Math.floor(((performance.now() - started) * rate) / 1000) + 1)
    for (; i < due; i++) send(i)
    if (i < count) {
      const wait = started + (i * 1000) / rate - performance.now()
      await new Promise(resolve => wait > 1 ? setTimeout(resolve, Math.min(wait, 1000)) : setImmediate(resolve))
    }
  }
  return performance.now() - started
}
