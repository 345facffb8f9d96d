/**
 * Figure 4, the engine:
 * - LIPS of naive reverse (nrev 30, bench/nrev.pl) in the engine (swipl-wasm in a worker thread
 *   through createNodeEngine, unsandboxed), against native stock `swipl` on this machine in the
 *   same run (the floor); and, to tell the engine's own cost from WebAssembly's, the same in bare
 *   swipl-wasm (no worker, no time slices) in this process (in `detail`);
 * - the round trip of one `true` query through the worker (query → first answer → closed), with
 *   a bare worker_threads postMessage echo as its floor; the sandboxed round trip in `detail`.
 */
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import { createNodeEngine } from '../node-peer/engine-host.ts'
import { atom } from '../core/wire/term.ts'
import { ROOT } from '../test/support/processes.ts'
import { progress, stats } from './support.ts'
import type { Figure } from './figure.ts'
import type { Engine } from '../core/engine/engine.ts'

const RUNS = 7
/** About 0.5 s of native swipl on a 2020s core; the engine's count is calibrated. */
const NATIVE_ITERATIONS = 50_000
const ROUND_TRIPS = 2_000

export async function engineFigures (): Promise<Figure[]> {
  const program = await readFile(new URL('./nrev.pl', import.meta.url), 'utf8')
  const engine = await createNodeEngine({ onOutput: () => {} })
  try {
    await engine.consult(program, { source: 'bench/nrev.pl' })
    const bareWasm = await bareWasmEngine(program)
    // The engine's first runs warm up (tiered WebAssembly compilation); then calibrate a run to
    // about 0.5 s of the engine.
    await lips(engine, 2_000)
    const calibrate = await lips(engine, 2_000)
    const iterations = Math.max(2_000, Math.round(calibrate * 0.5 / 496 / 1000) * 1000)
    bareWasm(iterations)
    // Native, engine and bare WebAssembly take turns, so that other load on the machine falls on
    // all three alike.
    progress(`nrev 30: native swipl × ${NATIVE_ITERATIONS}, the engine and bare swipl-wasm × ${iterations}, ${RUNS} rounds`)
    const runs: number[] = []
    const nativeRuns: number[] = []
    const bareRuns: number[] = []
    for (let i = 0; i < RUNS; i++) {
      nativeRuns.push(nativeLips())
      runs.push(await lips(engine, iterations))
      bareRuns.push(bareWasm(iterations))
    }
    const inEngine = stats(runs)
    const native = stats(nativeRuns)
    const bare = stats(bareRuns)
    progress(`  median: engine ${Math.round(inEngine.median).toLocaleString('en-US')}, native ${Math.round(native.median).toLocaleString('en-US')}, bare swipl-wasm ${Math.round(bare.median).toLocaleString('en-US')} LIPS`)

    progress(`round trips of a true query through the worker (${ROUND_TRIPS}), and of a bare postMessage echo`)
    const unsandboxed = await roundTrips(engine, false)
    const sandboxed = await roundTrips(engine, true)
    const echo = await echoRoundTrips()
    progress(`  median ${unsandboxed.median.toFixed(3)} ms (sandboxed ${sandboxed.median.toFixed(3)} ms), echo ${echo.median.toFixed(3)} ms`)

    // LIPS: more is better, so the "p99" is the 1st percentile (the slow end), like a latency's.
    const slowEnd = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length * 0.01)]
    const ratio = inEngine.median / native.median
    return [
      {
        name: 'engine nrev 30 LIPS (swipl-wasm worker, unsandboxed)',
        unit: 'LIPS',
        median: inEngine.median,
        p99: slowEnd(runs),
        max: inEngine.max,
        samples: RUNS,
        floor: { name: `native swipl ${swiplVersion()}`, median: native.median, p99: slowEnd(nativeRuns), max: native.max },
        target: { text: `≥ 1/4 of native (${(ratio * 100).toFixed(0)}%)`, met: ratio >= 0.25 },
        note: `${iterations} iterations a run; "p99" is the slowest run; bare swipl-wasm (no worker, no time slices) in the bench process: median ${Math.round(bare.median)} LIPS`,
        detail: { ratioToNative: ratio, engineRuns: runs, nativeRuns, bareWasmRuns: bareRuns, bareWasmToNative: bare.median / native.median }
      },
      {
        name: 'query round trip through the worker (true, unsandboxed)',
        unit: 'ms',
        median: unsandboxed.median,
        p99: unsandboxed.p99,
        max: unsandboxed.max,
        samples: unsandboxed.count,
        floor: { name: 'worker_threads postMessage echo', median: echo.median, p99: echo.p99, max: echo.max },
        note: `engine.query(true) until its answer, one after the other; sandboxed (library(sandbox) check + limits) median ${sandboxed.median.toFixed(3)} ms, p99 ${sandboxed.p99.toFixed(3)} ms`,
        detail: { sandboxed }
      }
    ]
  } finally {
    await engine.close()
  }
}

/** One run of native swipl (a fresh process: its start is not timed, nrev_lips/2 times itself). */
function nativeLips (): number {
  const result = spawnSync('swipl', ['-g', `nrev_lips(${NATIVE_ITERATIONS}, L), format("~w~n", [L])`, '-t', 'halt', 'bench/nrev.pl'], { cwd: ROOT, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`native swipl failed: ${result.stderr}`)
  return Number(result.stdout.trim())
}

function swiplVersion (): string {
  const result = spawnSync('swipl', ['--version'], { encoding: 'utf8' })
  return result.stdout.match(/version (\S+)/)?.[1] ?? ''
}

async function lips (engine: Engine, iterations: number): Promise<number> {
  for await (const answer of engine.queryText(`nrev_lips(${iterations}, L)`, { sandbox: false })) {
    if (answer.status !== 'success') throw new Error(`nrev_lips failed in the engine: ${JSON.stringify(answer)}`)
    return Number(answer.bindings.L)
  }
  throw new Error('nrev_lips gave no answer')
}

/** swipl-wasm itself, in this thread: what WebAssembly costs without the engine around it. */
async function bareWasmEngine (program: string): Promise<(iterations: number) => number> {
  const { default: SWIPL } = await import('swipl-wasm/dist/swipl-node.js')
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- swipl-wasm's thin types
  const swipl: any = await SWIPL({ arguments: ['-q'] } as any)
  swipl.FS.writeFile('/nrev.pl', program)
  swipl.prolog.call("consult('/nrev.pl')")
  return (iterations) => Number(swipl.prolog.query(`nrev_lips(${iterations}, L)`).once().L)
}

async function roundTrips (engine: Engine, sandbox: boolean): Promise<ReturnType<typeof stats>> {
  const times: number[] = []
  for (let i = 0; i < ROUND_TRIPS + 200; i++) {
    const began = performance.now()
    for await (const answer of engine.query(atom('true'), { sandbox })) {
      if (answer.status !== 'success') throw new Error(`true failed: ${JSON.stringify(answer)}`)
    }
    if (i >= 200) times.push(performance.now() - began)
  }
  return stats(times)
}

async function echoRoundTrips (): Promise<ReturnType<typeof stats>> {
  const worker = new Worker("require('node:worker_threads').parentPort.on('message', m => require('node:worker_threads').parentPort.postMessage(m))", { eval: true })
  try {
    const times: number[] = []
    for (let i = 0; i < ROUND_TRIPS + 200; i++) {
      const began = performance.now()
      await new Promise<void>(resolve => { worker.once('message', () => { resolve() }); worker.postMessage({ type: 'query', id: i, goal: { kind: 'term', goal: { atom: 'true' } } }) })
      if (i >= 200) times.push(performance.now() - began)
    }
    return stats(times)
  } finally {
    await worker.terminate()
  }
}
