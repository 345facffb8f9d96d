/**
 * The messages between the engine's host (engine.ts) and its worker (runtime.ts).
 *
 * Every job (a query, a consult, a broadcast, a codec call) has an id chosen by the host, unique
 * for the worker's life. A query job is lazy: `open` asks for its first answer and `next` for each
 * further one; the worker answers each with one `answer`, `fail` (no more answers) or `error`, and
 * computes nothing in between. `close` ends a job wherever it is (running or waiting for `next`);
 * the worker confirms with `closed`, unless the job had already ended. Terms are plain data
 * (core/wire/term.ts), so messages cross by structured clone.
 *
 * Shared predicates (p2p_kb.pl): the worker posts `kb-changes` after every time slice in which
 * shared predicates changed, in the order of the changes (and before the reply to `udp-receive`,
 * whose changes it reports so); `kb-apply` applies changes from the
 * network in one Prolog call, reported by nobody. A worker that replaces a failed one starts with
 * `restoring`, replays quietly, gets `kb-declare`, the host's `kb-apply`, then `kb-end-restore`
 * (see engine.ts).
 *
 * Network queries (p2p_network.pl): the worker posts `network-open` when Prolog calls network/1,2
 * and `network-close` when that call is cut before its answers ended; the host answers with
 * `network-answers`, keyed by the worker's handle (not a job id: one job may ask many).
 */
import type { SerializedError, TermConversionReason } from './errors.ts'
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
  /** Replace a failed worker: clauses that the replay makes are not reported until `kb-end-restore`. */
  restoring: boolean
}

/** What a job runs. */
export type Goal =
  | { kind: 'term', goal: Term }
  | { kind: 'text', text: string }
  | { kind: 'consult', text: string, source: string }

export interface RunOptions {
  sandbox: boolean
  /** The goal came from the network (a peer's network/1): it may not call network/1 in turn. */
  fromNetwork?: boolean
  /** Inferences per answer; undefined for no limit. */
  inferenceLimit?: number
}

export type UdpMessage =
  | { kind: 'send', term: Term }
  | { kind: 'request', id: Term, term: Term }
  | { kind: 'reply', id: Term, term: Term }

export type UdpDecodeResult = UdpMessage | { error: string }

/**
 * A change of shared knowledge that a datagram from the bridge's group asked for and the worker
 * did (p2p_kb.pl kb_update/1): `send(assert(C))` and the like (`via: 'send'`), or
 * `request(Id, retract(C))` and the like (`via: 'request'`), whose `reply` is the change as done.
 * `error` is SWI-Prolog's text when it was refused.
 */
export interface UdpChange {
  kind: 'change'
  via: 'send' | 'request'
  reply?: { id: Term, term: Term }
  error?: string
}

/** What `udp-receive` made of a datagram: refused, a message for the host, or a change done. */
export type UdpReceiveResult = UdpDecodeResult | UdpChange

/**
 * A local change of a shared predicate. `id` is the clause's 16 random bytes (the network event's
 * id); `clause` is `Head` for a fact, `(Head :- Body)` for a rule; `front` is true for asserta.
 * A retract names every clause that went, in order (a retractall/1 gives one change).
 */
export type KbChange =
  | { kind: 'assert', id: Uint8Array, clause: Term, front: boolean }
  | { kind: 'retract', ids: Uint8Array[] }

/** A change of a shared predicate from the network. */
export type KbOp =
  | { op: 'assert', id: Uint8Array, clause: Term, front: boolean }
  | { op: 'retract', id: Uint8Array }

/**
 * Why a remote clause was not asserted: not a clause (`p :- 1`), a head that is not callable (a
 * number, a variable, `m:p`), a head of SWI-Prolog, a library or the engine (`builtin-head`) or of a
 * local predicate that is not shared (`local-head`), a body that library(sandbox) refuses or that
 * changes the database (`unsafe-body`), an id that is not 16 bytes, or a term outside the term
 * model (the reasons of TermConversionError).
 */
export type KbRefusalReason =
  | 'not-a-clause' | 'not-callable-head' | 'builtin-head' | 'local-head' | 'unsafe-body' | 'bad-id'
  | TermConversionReason

export interface KbRefusal {
  id: Uint8Array
  reason: KbRefusalReason
}

export interface PredicateIndicator {
  name: string
  arity: number
}

export type HostMessage =
  | { type: 'init', id: number, init: WorkerInit }
  | { type: 'open', id: number, goal: Goal, options: RunOptions }
  | { type: 'next', id: number }
  | { type: 'close', id: number }
  | { type: 'udp-decode', id: number, datagrams: string[] }
  | { type: 'udp-encode', id: number, messages: UdpMessage[] }
  /** Datagrams from the bridge's group: read, and their changes of shared knowledge done. */
  | { type: 'udp-receive', id: number, datagrams: string[] }
  | { type: 'kb-apply', id: number, ops: KbOp[] }
  /** Declares predicates shared again (in a restore, before the host re-applies its clauses). */
  | { type: 'kb-declare', id: number, declared: PredicateIndicator[] }
  /** Ends a restore: the replayed clauses that no re-applied clause claimed go. */
  | { type: 'kb-end-restore', id: number }
  /** Answers of the network query `handle`; `done`: no more will come. */
  | { type: 'network-answers', handle: number, answers: Term[], done: boolean }

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
  | { type: 'udp-received', id: number, results: UdpReceiveResult[] }
  | { type: 'kb-applied', id: number, refused: KbRefusal[] }
  /** The reply to kb-declare and kb-end-restore. */
  | { type: 'kb-done', id: number }
  /** Local changes of shared predicates, oldest first, and the predicates newly declared shared. */
  | { type: 'kb-changes', changes: KbChange[], declared: PredicateIndicator[] }
  | { type: 'publish', term: Term }
  /** Prolog called network(Goal): ask the network; answers go back as `network-answers`. */
  | { type: 'network-open', handle: number, goal: Term, timeout: number, limit: number }
  /** The network query `handle` needs no more answers (it was cut, or its job ended). */
  | { type: 'network-close', handle: number }
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
