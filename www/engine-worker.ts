/**
 * The engine's worker in a browser (a module Web Worker): swipl-wasm's split web build, the worker
 * scope as the endpoint, and the platform-agnostic runtime (core/engine/runtime.ts) doing the work.
 *
 * The split build (`swipl-web.js` with its `.wasm` and `.data` fetched beside it) starts faster in
 * a worker than the single-file bundle, which carries both inside its JavaScript as base64.
 * Parcel copies the two files into the build and gives their URLs here (`npm:` URLs).
 */
import SWIPL from 'swipl-wasm/dist/swipl/swipl-web.js'
import { startRuntime } from '../core/engine/runtime.ts'
import type { HostMessage, WorkerEndpoint, WorkerMessage } from '../core/engine/protocol.ts'
import type { SwiplModuleOptions } from '../core/engine/runtime.ts'

const FILES: Record<string, URL> = {
  'swipl-web.wasm': new URL('npm:swipl-wasm/dist/swipl/swipl-web.wasm', import.meta.url),
  'swipl-web.data': new URL('npm:swipl-wasm/dist/swipl/swipl-web.data', import.meta.url)
}

// tsconfig's lib has DOM and WebWorker together, so `self` is typed as a Window here.
const scope = self as unknown as DedicatedWorkerGlobalScope

const endpoint: WorkerEndpoint = {
  postMessage: (message: WorkerMessage) => { scope.postMessage(message) },
  onMessage: (listener) => { scope.addEventListener('message', (event: MessageEvent<HostMessage>) => { listener(event.data) }) }
}

async function createModule (options: SwiplModuleOptions): Promise<unknown> {
  const locateFile = (path: string, prefix: string): string => FILES[path]?.href ?? prefix + path
  // swipl-wasm's types list only Emscripten's options; on_output is its own addition.
  const module = await SWIPL({ ...options, locateFile } as unknown as Parameters<typeof SWIPL>[0])
  // library(wasm)'s := calls JavaScript through `window`. Set only now: swipl-wasm takes a
  // `window` at start for a page and would read `document` and `window.location`.
  const global = globalThis as { window?: unknown }
  global.window ??= globalThis
  return module
}

startRuntime(endpoint, createModule)
