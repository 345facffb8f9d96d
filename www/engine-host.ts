/**
 * The engine in a browser: the worker runs www/engine-worker.ts in a module Web Worker, and the
 * Prolog sources are fetched from the URLs of PROLOG_SOURCES, which Parcel copies into the build.
 *
 * @example
 * ```ts
 * const engine = await createBrowserEngine({ onOutput: text => { console.log(text) } })
 * for await (const answer of engine.queryText('member(X, [a, b])', { sandbox: false })) {
 *   if (answer.status === 'success') console.log(answer.text) // X = a, then X = b
 * }
 * await engine.close()
 * ```
 */
import { createEngine, PROLOG_SOURCES } from '../core/engine/engine.ts'
import type { Engine, EngineInit } from '../core/engine/engine.ts'
import type { PrologSource, WorkerHandle, WorkerMessage } from '../core/engine/protocol.ts'

export async function createBrowserEngine (init: EngineInit = {}): Promise<Engine> {
  const sources = await Promise.all(PROLOG_SOURCES.map(fetchSource))
  return await createEngine({ spawn: spawnWorker, sources }, init)
}

async function fetchSource ({ name, url }: { name: string, url: URL }): Promise<PrologSource> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`cannot load the Prolog source ${name} from ${url.href}: HTTP ${response.status}`)
  return { name, text: await response.text() }
}

function spawnWorker (): WorkerHandle {
  // Written out in one expression, so that Parcel finds the worker and bundles it. Parcel emits
  // a classic worker script while the browserslist names browsers its table has no module
  // workers for (Firefox, Safari); the code runs the same either way.
  const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'prolog' })
  return {
    postMessage: (message) => { worker.postMessage(message) },
    onMessage: (listener) => { worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => { listener(event.data) }) },
    onExit: (listener) => {
      // A Web Worker does not report an exit: an uncaught error, or a message that does not
      // deserialize, is what ends it from the engine's view.
      worker.addEventListener('error', (event) => {
        event.preventDefault()
        listener(new Error(`the worker failed: ${event.message === '' ? 'it did not load' : event.message}`))
      })
      worker.addEventListener('messageerror', () => { listener(new Error('the worker sent a message that cannot be read')) })
    },
    terminate: async () => { worker.terminate() }
  }
}
