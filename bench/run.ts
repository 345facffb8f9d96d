/**
 * `npm run bench`: measures the figures of issue 6 on the Node side, prints a table and writes
 * bench/results.json. Runs inside a private network namespace (test/netns.sh), so its multicast
 * stays on this machine. Progress goes to stderr; every process a step starts is ended when it
 * is done, pass or fail, and the next step waits (up to 15 s) for a second in which the machine
 * is quiet.
 *
 *   npm run bench                       every step
 *   npm run bench -- latency engine     only these steps (results.json then holds only them)
 *   BENCH_SCALE=20,50 npm run bench     the peer counts of the scale step (default 20)
 */
import { execSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import { killAll } from '../test/support/processes.ts'
import { browserFigures } from './browser.ts'
import { catchUp } from './catch-up.ts'
import { engineFigures } from './engine.ts'
import { latency } from './latency.ts'
import { signallerMemory } from './memory.ts'
import { scale } from './scale.ts'
import { settle, startPair } from './support.ts'
import { throughput } from './throughput.ts'
import { wireBatch } from './wire-batch.ts'
import type { Failure, Figure } from './figure.ts'
import type { Pair } from './support.ts'

let pair: Pair | undefined
const sharedPair = async (): Promise<Pair> => {
  if (pair === undefined) {
    process.stderr.write('bench:   starting a signaller and node peers A and B\n')
    pair = await startPair()
  }
  return pair
}
const stopPair = async (): Promise<void> => {
  const p = pair
  pair = undefined
  await p?.stop()
}

const steps: Array<[string, () => Promise<Figure[]> | Figure[]]> = [
  ['engine', engineFigures],
  ['wire', wireBatch],
  ['latency', async () => await latency(await sharedPair())],
  ['browser', async () => await browserFigures(await sharedPair())],
  ['throughput', async () => { try { return await throughput(await sharedPair()) } finally { await stopPair() } }],
  ['catch-up', catchUp],
  ['memory', signallerMemory],
  ['scale', scale]
]

const wanted = process.argv.slice(2)
const unknown = wanted.filter(w => !steps.some(([name]) => name === w))
if (unknown.length > 0) {
  console.error(`unknown step(s) ${unknown.join(', ')}; the steps are ${steps.map(([n]) => n).join(', ')}`)
  process.exit(2)
}

const figures: Figure[] = []
const failures: Failure[] = []
/** The machine's 1-minute load average around each step: other work on it skews every figure. */
const load: Array<{ step: string, seconds: number, loadBefore: number, loadAfter: number, busyBefore: number }> = []
const began = performance.now()
const stop = (): void => { killAll(); process.exit(130) }
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
try {
  for (const [name, measure] of steps) {
    if (wanted.length > 0 && !wanted.includes(name)) continue
    const settled = performance.now()
    const busy = await settle()
    const stepBegan = performance.now()
    const loadBefore = loadavg()[0]
    process.stderr.write(`bench: ${name}... (load average ${loadBefore.toFixed(1)} on ${cpus().length} cores; waited ${((stepBegan - settled) / 1000).toFixed(1)} s for a quiet second: ${Math.round(busy * 100)} % busy)\n`)
    try {
      figures.push(...await measure())
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err)
      failures.push({ step: name, error })
      process.stderr.write(`bench: ${name} FAILED: ${error}\n`)
      await stopPair().catch(() => {})
      killAll()
    }
    const seconds = Math.round((performance.now() - stepBegan) / 1000)
    load.push({ step: name, seconds, loadBefore, loadAfter: loadavg()[0], busyBefore: busy })
    process.stderr.write(`bench: ${name} took ${seconds} s (load average ${loadavg()[0].toFixed(1)})\n`)
  }
} finally {
  await stopPair().catch(() => {})
  killAll()
}

const fmt = (n: number | undefined): string => n === undefined || Number.isNaN(n) ? '' : n >= 1000 ? Math.round(n).toLocaleString('en-US') : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)
console.log('| figure | unit | median | p99 | max | target | floor (median / p99) | reference (median / p99) |')
console.log('|---|---|---|---|---|---|---|---|')
for (const f of figures) {
  const target = f.target === undefined ? '' : `${f.target.text} ${f.target.met ? '(met)' : '(MISSED)'}`
  const floor = f.floor === undefined ? '' : `${f.floor.name}: ${fmt(f.floor.median)} / ${fmt(f.floor.p99)}`
  const reference = f.reference === undefined ? '' : `${f.reference.name}: ${fmt(f.reference.median)} / ${fmt(f.reference.p99)}`
  console.log(`| ${f.name} | ${f.unit} | ${fmt(f.median)} | ${fmt(f.p99)} | ${fmt(f.max)} | ${target} | ${floor} | ${reference} |`)
}
for (const failure of failures) console.log(`| ${failure.step}: FAILED (${failure.error.split('\n')[0]}) | | | | | | | |`)

const commit = (() => { try { return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim() } catch { return 'unknown' } })()
const machine = { nproc: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version }
await writeFile(new URL('./results.json', import.meta.url), JSON.stringify({
  date: new Date().toISOString(),
  commit,
  machine,
  seconds: Math.round((performance.now() - began) / 1000),
  steps: load,
  figures,
  failures
}, null, 2) + '\n')
console.log(`wrote bench/results.json (${Math.round((performance.now() - began) / 1000)} s)`)
if (failures.length > 0) process.exitCode = 1
