/**
 * `npm run bench`: measures, prints a table and writes bench/results.json. Runs inside a private
 * network namespace (test/netns.sh), so its multicast stays on this machine.
 */
import { writeFile } from 'node:fs/promises'
import { killAll } from '../test/support/processes.ts'
import { udpLatency } from './udp-latency.ts'
import { wireBatch } from './wire-batch.ts'
import type { Figure } from './figure.ts'

const figures: Figure[] = []
const steps: Array<[string, () => Promise<Figure | Figure[]> | Figure | Figure[]]> = [
  ['wire batches', wireBatch],
  ['UDP datagram latency', udpLatency]
]
try {
  for (const [name, measure] of steps) {
    process.stderr.write(`bench: ${name}...\n`)
    figures.push(...[await measure()].flat())
  }
} finally {
  killAll()
}

const fmt = (n: number): string => n.toFixed(2)
console.log('| figure | unit | median | p99 | max | floor median | floor p99 |')
console.log('|---|---|---|---|---|---|---|')
for (const f of figures) {
  console.log(`| ${f.name} | ${f.unit} | ${fmt(f.median)} | ${fmt(f.p99)} | ${fmt(f.max)} | ${f.floor === undefined ? '' : fmt(f.floor.median)} | ${f.floor === undefined ? '' : fmt(f.floor.p99)} |`)
}
await writeFile(new URL('./results.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), figures }, null, 2) + '\n')
console.log('wrote bench/results.json')
