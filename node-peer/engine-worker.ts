/**
 * The engine's worker under Node.js (worker_threads): swipl-wasm's Node build, parentPort as the
 * endpoint, and the platform-agnostic runtime (core/engine/runtime.ts) doing the work.
 */
import { parentPort } from 'node:worker_threads'
import SWIPL from 'swipl-wasm/dist/swipl-node.js'
import { startRuntime } from '../core/engine/runtime.ts'
import type { HostMessage, WorkerEndpoint } from '../core/engine/protocol.ts'
import type { SwiplModuleOptions } from '../core/engine/runtime.ts'

if (parentPort === null) throw new Error('engine-worker.ts runs as a worker thread')
const port = parentPort

const endpoint: WorkerEndpoint = {
  postMessage: (message) => { port.postMessage(message) },
  onMessage: (listener) => { port.on('message', (message: HostMessage) => { listener(message) }) }
}

async function createModule (options: SwiplModuleOptions): Promise<unknown> {
  // swipl-wasm's types list only Emscripten's options; on_output is its own addition.
  const module = await SWIPL(options as unknown as Parameters<typeof SWIPL>[0])
  // library(wasm)'s := calls JavaScript through `window`. Set only now: swipl-wasm takes a
  // `window` at start for a browser and would look for its data file by URL.
  const global = globalThis as { window?: unknown }
  global.window ??= globalThis
  return module
}

startRuntime(endpoint, createModule, setImmediate)
