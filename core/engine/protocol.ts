/**
 * The messages between the engine's host (engine.ts) and its worker (runtime.ts).
 *
 * Every job (a query, a consult, a broadcast, a codec call) has an id chosen by the host, unique
 * for the worker's life. A query job is lazy: `open` asks for its first answer and `next` for each
 * further one; the worker answers each with one `answer`, `fail` (no more answers) or `error`, and
 * computes nothing in between. `close` ends a job wherever it is (running or waiting for `next`);
 * the worker confirms with `closed`, unless the job had already ended. Terms are plain data
 * (core/wire/term.ts), so messages cross by structured clone.
 */
import type { SerializedError } from './errors.ts'
import type { Term } from '../wire/term.ts'

/** A Prolog source the worker loads at start, as a module file `/p2p/<name>`. */
export interface PrologSource {
  name: string
  text: string
}

export interface WorkerInit {
  sources: PrologSource[]
  /** The modules to load, by file name (the others are loaded by them). */
  load: string[]
  maxDepth: number
  heartbeat: number
  timeSlice: number
}

/** What a job runs. */
export type Goal =
  | { kind: 'term', goal: Term }
  | { kind: 'text', text: string }
  | { kind: 'consult', text: string, source: string }

export interface RunOptions {
  sandbox: boolean
  /** Inferences per answer; undefined for no limit. */
  inferenceLimit?: number
}

export type UdpMessage =
  | { kind: 'send', term: Term }
  | { kind: 'request', id: Term, term: Term }
  | { kind: 'reply', id: Term, term: Term }

export type UdpDecodeResult = UdpMessage | { error: string }

export type HostMessage =
  | { type: 'init', id: number, init: WorkerInit }
  | { type: 'open', id: number, goal: Goal, options: RunOptions }
  | { type: 'next', id: number }
  | { type: 'close', id: number }
  | { type: 'udp-decode', id: number, datagrams: string[] }
  | { type: 'udp-encode', id: number, messages: UdpMessage[] }

/** One answer of a query: the instantiated goal, and the bindings by name (text) or variable number (term). */
export interface AnswerData {
  goal: Term
  bindings: Record<string, Term>
  text?: string
  /** True when Prolog knows there are no more answers (the query left no choice point). */
  last: boolean
}

export type WorkerMessage =
  | { type: 'ready', id: number }
  | { type: 'answer', id: number, answer: AnswerData }
  | { type: 'fail', id: number }
  | { type: 'error', id: number, error: SerializedError }
  | { type: 'closed', id: number }
  | { type: 'udp-decoded', id: number, results: UdpDecodeResult[] }
  | { type: 'udp-encoded', id: number, texts: string[] }
  | { type: 'publish', term: Term }
  | { type: 'output', text: string, stream: 'stdout' | 'stderr' }
  /** The worker can serve nothing more (its WASM module failed); the host replaces it. */
  | { type: 'fatal', message: string }

/** The worker's side of the channel: the worker global scope, or parentPort wrapped. */
export interface WorkerEndpoint {
  postMessage (message: WorkerMessage): void
  onMessage (listener: (message: HostMessage) => void): void
}

/** The host's side: a running worker. */
export interface WorkerHandle {
  postMessage (message: HostMessage): void
  onMessage (listener: (message: WorkerMessage) => void): void
  /** The worker died (an uncaught error or exit); the engine replaces it. */
  onExit (listener: (error: Error) => void): void
  terminate (): Promise<void>
}

/** Starts a worker running runtime.ts; the engine calls it again to replace a stuck one. */
export type WorkerFactory = () => WorkerHandle
