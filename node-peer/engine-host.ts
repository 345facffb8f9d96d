/**
 * The engine under Node.js: the worker runs node-peer/engine-worker.ts in a worker thread, and the
 * Prolog sources are read from disk next to core/engine/engine.ts (bundled by `npm run build:node`,
 * next to the bundle: dist/node-peer/).
 *
 * @example
 * ```ts
 * const engine = await createNodeEngine({ onPublish: term => console.log('to the network', term) })
 * await engine.consult(':- use_module(library(broadcast)).\n:- listen(number(X), between(1, 5, X)).')
 * for await (const term of engine.request({ functor: 'number', args: [{ var: 0 }] })) console.log(term)
 * await engine.close()
 * ```
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { createEngine, PROLOG_SOURCES } from '../core/engine/engine.ts'
import type { Engine, EngineInit } from '../core/engine/engine.ts'
import type { HostMessage, WorkerHandle, WorkerMessage } from '../core/engine/protocol.ts'

/** Bundled (dist/, `npm run build:node`) this module is JavaScript, and so is its worker. */
const BUNDLED = import.meta.url.endsWith('.js')
const WORKER_URL = new URL(BUNDLED ? './engine-worker.js' : './engine-worker.ts', import.meta.url)
/**
 * From source the worker is TypeScript. `execArgv: ['--import', 'tsx']` does not reach worker
 * threads in Node 20 ("Unknown file extension .ts"), so a one-line bootstrap registers tsx's
 * loader in the worker, then imports the entry; this works under `node --import tsx` and under
 * vitest alike.
 */
const BOOTSTRAP = BUNDLED
  ? `import(${JSON.stringify(WORKER_URL.href)})`
  : `import(${JSON.stringify(tsxEsmApi())}).then(tsx => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}) })`

export async function createNodeEngine (init: EngineInit = {}): Promise<Engine> {
  const sources = await Promise.all(PROLOG_SOURCES.map(async ({ name, url }) => ({ name, text: await readFile(url, 'utf8') })))
  return await createEngine({ spawn: spawnWorker, sources }, init)
}

function spawnWorker (): WorkerHandle {
  const worker = new Worker(BOOTSTRAP, { eval: true })
  return {
    postMessage: (message: HostMessage) => { worker.postMessage(message) },
    onMessage: (listener) => { worker.on('message', (message: WorkerMessage) => { listener(message) }) },
    onExit: (listener) => {
      worker.on('error', (err) => { listener(err) })
      worker.on('exit', (code) => { listener(new Error(`the worker exited with code ${code}`)) })
    },
    terminate: async () => { await worker.terminate() }
  }
}

/** The URL of tsx's ESM API (`tsx/esm/api`, import condition), found through its package.json. */
function tsxEsmApi (): string {
  const manifestPath = createRequire(import.meta.url).resolve('tsx/package.json')
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> }
  return pathToFileURL(join(dirname(manifestPath), manifest.exports['./esm/api'].import.default)).href
}
