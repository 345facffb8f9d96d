/**
 * @packageDocumentation
 *
 * SWI-Prolog (swipl-wasm) in a worker, for the browser and for Node.js: queries stream their
 * answers lazily as exact terms (core/wire/term.ts), goals from the network pass library(sandbox)
 * and run under an inference limit and a wall-clock limit, a stuck worker is replaced (its
 * consulted programs replayed), and library(broadcast) reaches the network through
 * `broadcast(p2p(Term))` and `onPublish`. The udp_broadcast text codec of SWI-Prolog runs here too.
 * Shared predicates (`:- shared(likes/2).`, p2p_kb.pl) report their local changes to `onKbChange`
 * with 16-byte ids, take the network's with `applyKb` (no echo, unsafe rules refused), and answer
 * requests from the network.
 *
 * The host side ({@link createEngine}) and the worker side ({@link startRuntime}) know no
 * platform. Under Node.js, `createNodeEngine` (node-peer/engine-host.ts) wires them with
 * worker_threads; a browser does the same with a Web Worker, whose entry calls `startRuntime`.
 *
 * Answers: `{ status: 'success', goal, bindings, text?, last }`, then the end; `{ status: 'failure' }`
 * only when there was no answer; `{ status: 'error', error }` ends the query. Aborting the signal
 * throws its reason. Errors are told apart by `name`: PrologError, SandboxError,
 * InferenceLimitError, EngineTimeoutError, EngineStoppedError, TermConversionError.
 *
 * @example
 * ```ts
 * import { createNodeEngine } from '../../node-peer/engine-host.ts'
 *
 * const engine = await createNodeEngine({ onPublish: term => { console.log('to the network:', term) } })
 * await engine.consult('parent(tom, bob).\nparent(bob, ann).')
 * for await (const answer of engine.queryText('parent(X, Y)')) {
 *   if (answer.status === 'success') console.log(answer.text) // X = tom, Y = bob ...
 * }
 * for await (const answer of engine.queryText('shell(ls)')) {
 *   if (answer.status === 'error') console.log(answer.error.name) // SandboxError
 * }
 * const controller = new AbortController()
 * setTimeout(() => { controller.abort() }, 100)
 * await engine.queryText('repeat, fail', { sandbox: false, signal: controller.signal }).next().catch(() => {})
 * console.log(await engine.decodeUdp(['%-prolog-\nsend(temperature(kitchen,21.5))']))
 *
 * const shared = await createNodeEngine({ onKbChange: change => { console.log(change.kind) } })
 * await shared.consult(':- shared(likes/2).\nlikes(alice, bob).') // assert
 * const id = crypto.getRandomValues(new Uint8Array(16))
 * const { refused } = await shared.applyKb([{ op: 'assert', id, clause: { functor: 'likes', args: [{ atom: 'bob' }, { atom: 'cy' }] }, front: false }])
 * console.log(refused) // [], and nothing reported
 * await shared.close()
 * await engine.close()
 * ```
 */
export { createEngine, PROLOG_SOURCES } from './engine.ts'
export type { Answer, ApplyKbResult, ConsultOptions, Engine, EngineComponents, EngineInit, QueryOptions, RequestOptions } from './engine.ts'
export { startRuntime } from './runtime.ts'
export type { Macrotask, SwiplModuleFactory, SwiplModuleOptions } from './runtime.ts'
export type {
  KbChange, KbOp, KbRefusal, KbRefusalReason, PredicateIndicator, PrologSource, UdpDecodeResult, UdpMessage, WorkerEndpoint, WorkerFactory, WorkerHandle
} from './protocol.ts'
export {
  EngineStoppedError, EngineTimeoutError, InferenceLimitError, PrologError, SandboxError, TermConversionError
} from './errors.ts'
export type { EngineError, TermConversionReason } from './errors.ts'
export * from './constants.ts'
