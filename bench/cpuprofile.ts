/**
 * Summarises .cpuprofile files (node --cpu-prof; `BENCH_PROFILE=DIR npm run bench -- STEP`
 * profiles every signaller and node peer a step starts): per thread, the busy time and the
 * functions with the most self time and total (inclusive) time.
 *
 *   node --import tsx bench/cpuprofile.ts [--top N] [--skip SECONDS] FILE.cpuprofile...
 *
 * --skip leaves out the first SECONDS of each profile (the process start: module loading).
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

const IDLE = new Set(['(idle)', '(program)', '(garbage collector)'])

function frameName (node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const file = url === '' ? '' : ` ${url.replace(/^file:\/\/\/work\/main\//, '').replace(/^.*node_modules\//, '~')}:${lineNumber + 1}`
  return `${functionName === '' ? '(anonymous)' : functionName}${file}`
}

export function summarise (profile: Profile, top = 15, skipSeconds = 0): string {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  let busy = 0
  let idle = 0
  let gc = 0
  let at = 0
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000
    at += dt
    if (at < skipSeconds * 1000) return
    const node = byId.get(id)
    if (node === undefined) return
    const name = node.callFrame.functionName
    if (name === '(idle)' || name === '(program)') { idle += dt; return }
    if (name === '(garbage collector)') gc += dt
    busy += dt
    const key = frameName(node)
    self.set(key, (self.get(key) ?? 0) + dt)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)
      if (frame === undefined || frame.callFrame.functionName === '(root)') continue
      const k = frameName(frame)
      if (seen.has(k)) continue
      seen.add(k)
      total.set(k, (total.get(k) ?? 0) + dt)
    }
  })
  const wall = (profile.endTime - profile.startTime) / 1000 - Math.min(skipSeconds * 1000, at)
  const rows = (m: Map<string, number>): string[] => [...m.entries()].filter(([k]) => !IDLE.has(k.split(' ')[0]))
    .sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `  ${v.toFixed(0).padStart(7)} ms ${(100 * v / Math.max(busy, 1)).toFixed(1).padStart(5)}%  ${k}`)
  return [
    `wall ${wall.toFixed(0)} ms, busy ${busy.toFixed(0)} ms (${(100 * busy / Math.max(wall, 1)).toFixed(0)}%), GC ${gc.toFixed(0)} ms, idle ${idle.toFixed(0)} ms`,
    'self time:', ...rows(self),
    'total time:', ...rows(total)
  ].join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const option = (name: string, fallback: number): number => {
    const at = args.indexOf(name)
    if (at < 0) return fallback
    const value = Number(args[at + 1])
    args.splice(at, 2)
    return value
  }
  const top = option('--top', 15)
  const skip = option('--skip', 0)
  for (const file of args) {
    const profile = JSON.parse(await readFile(file, 'utf8')) as Profile
    console.log(`== ${basename(file)}`)
    console.log(summarise(profile, top, skip))
  }
}
