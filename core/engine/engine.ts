/**
 * The engine's host-side API: SWI-Prolog in a worker, with limits, a sandbox and a way back when
 * the worker gets stuck. Platform-agnostic: the platform supplies a {@link WorkerFactory} and the
 * texts of the Prolog sources ({@link PROLOG_SOURCES}).
 *
 * - Answers stream lazily: the worker computes the next answer only when the consumer asks for it,
 *   and `break` (or `return()`) closes the query. A goal that is computing is stopped by the
 *   signal or the timeout: a generator's `return()` waits for the pending answer. A consumer
 *   should finish or break its loop; an abandoned generator keeps its query open in the worker.
 * - Stop: aborting the signal, a timeout or closing the generator stops the goal between two time
 *   slices; a worker that does not confirm within `stopGrace` ms is terminated and a new one
 *   started, replaying every consulted program in order. Queries that were open on the replaced
 *   worker end with EngineStoppedError; what queries asserted is lost, consulted programs are not.
 * - Shared predicates (p2p_kb.pl, `:- shared(likes/2).`): their local changes reach `onKbChange`,
 *   in order, each new clause with a fresh 16-byte id; `applyKb` applies the network's changes
 *   without echo. With `onKbChange` set the host holds the shared state, and restores it when a
 *   worker is replaced: the new worker replays its programs without reporting and declares
 *   shared again what was (also from queries), then `onRestart` runs. From then on `applyKb`
 *   reaches the new worker, while every other call waits until the promise onRestart returned
 *   has settled: the host re-applies the full clause list there, and must return (not just start)
 *   that work, and await no other engine call in it. Replayed clauses equal to a re-applied one
 *   take its id (so a program's clauses keep theirs); the others then go, as the network no
 *   longer has them.
 * - network(Goal) (p2p_network.pl): Prolog asks the network through `onNetworkQuery`; the answers
 *   stream back into the waiting query, and a cut, a stop or a replaced worker aborts the ask.
 * - Concurrency: each query has a Prolog engine of its own in the worker, and running goals share
 *   the worker in time slices, so a long console query does not hold up network requests.
 */
import { DEFAULT_INFERENCE_LIMIT, DEFAULT_MAX_DEPTH, DEFAULT_TIMEOUT_MS, HEARTBEAT_INFERENCES, STOP_GRACE_MS, TIME_SLICE_MS } from './constants.ts'
import { deserializeError, EngineStoppedError } from './errors.ts'
import { JobChannel } from './job-channel.ts'
import { networkQueries } from './network-queries.ts'
import { INIT_ID, startSession } from './session.ts'
import type { Goal, KbChange, KbOp, KbRefusal, PredicateIndicator, PrologSource, RunOptions, UdpDecodeResult, UdpMessage, UdpReceiveResult, WorkerFactory, WorkerInit } from './protocol.ts'
import type { NetworkQueries, NetworkQuery } from './network-queries.ts'
import type { JobMessage, Session } from './session.ts'
import type { Compound, Term } from '../wire/term.ts'

export interface EngineInit {
  /** Inferences per answer for sandboxed goals, broadcast and request. @default DEFAULT_INFERENCE_LIMIT (10_000_000) */
  inferenceLimit?: number
  /** Wall-clock ms per answer for sandboxed goals, broadcast and request. @default DEFAULT_TIMEOUT_MS (5_000) */
  timeout?: number
  /** Nesting a term may have to cross between Prolog and JavaScript. @default DEFAULT_MAX_DEPTH (1_000) */
  maxDepth?: number
  /** Ms a stopped goal has before its worker is replaced. @default STOP_GRACE_MS (500) */
  stopGrace?: number
  /** Prolog code called broadcast(p2p(Term)). */
  onPublish?: (term: Term) => void
  /** What Prolog printed. @default console.log / console.error */
  onOutput?: (text: string, stream: 'stdout' | 'stderr') => void
  /**
   * The worker was replaced (stuck, or it failed): called once the new worker has started and
   * replayed the consulted programs. Only applyKb reaches it until the promise returned settles:
   * re-apply every shared clause there and return that work, e.g.
   * `onRestart: async () => { await engine.applyKb(allClauses()) }`. Awaiting another engine
   * call here would wait for itself.
   */
  onRestart?: (reason: string) => void | Promise<void>
  /** A local change of a shared predicate, in the order they happened. */
  onKbChange?: (change: KbChange) => void
  /** Predicates newly declared shared here (shared/1, or the first clause of one from the network). */
  onDeclare?: (predicates: readonly PredicateIndicator[]) => void
  /** How Prolog's network(Goal) asks the network (the peer's query()). Without it, network/1 has no answers. */
  onNetworkQuery?: NetworkQuery
}

export interface EngineComponents {
  spawn: WorkerFactory
  /** The texts of {@link PROLOG_SOURCES}. */
  sources: PrologSource[]
}

export interface QueryOptions {
  /** Check the goal with library(sandbox) and run it in a temporary module. @default true */
  sandbox?: boolean
  /** Per answer. @default EngineInit.inferenceLimit when sandboxed, else none */
  inferenceLimit?: number
  /** Wall-clock ms per answer. @default EngineInit.timeout when sandboxed, else none */
  timeout?: number
  signal?: AbortSignal
  /** The goal came from the network: it may not call network/1 in turn. @default false */
  fromNetwork?: boolean
}

export interface ConsultOptions extends QueryOptions {
  /** @default false: consulted programs are the peer's own; pass true for programs from the network. */
  sandbox?: boolean
  /** The file name the program is loaded as; consulting the same name again replaces it. @default a new name */
  source?: string
}

export interface RequestOptions {
  /** Ms to collect answers; the generator then ends quietly. @default none */
  timeout?: number
  /** Ends the generator quietly. */
  signal?: AbortSignal
}

/**
 * One answer. A query yields its successes, then ends; `failure` comes only when there was no
 * success at all, and `error` ends the query. For query(), `bindings` maps each variable number of
 * the goal to its value; for queryText(), each variable name (not starting with `_`). `goal` is
 * the instantiated goal; variables are numbered across goal and bindings together.
 */
export type Answer =
  | { status: 'success', goal: Term, bindings: Record<string, Term>, text?: string, last: boolean }
  | { status: 'failure' }
  | { status: 'error', error: Error }

export type { KbChange, KbOp, KbRefusal, UdpMessage, UdpReceiveResult }

/** What applyKb did not apply, in the order of the ops. */
export interface ApplyKbResult {
  refused: KbRefusal[]
}

export interface Engine {
  /** Loads program text into module user. @throws PrologError, SandboxError (with SWI-Prolog's messages), the signal's reason */
  consult (text: string, options?: ConsultOptions): Promise<void>
  /** @throws the signal's reason when it aborts */
  query (goal: Term, options?: QueryOptions): AsyncGenerator<Answer>
  /** Answers carry `text`, the bindings as the toplevel prints them (without the final `.`). */
  queryText (text: string, options?: QueryOptions): AsyncGenerator<Answer>
  /** Delivers a network message to local listen/2,3 handlers (broadcast/1), under the limits. */
  broadcast (term: Term): Promise<void>
  /** broadcast_request/1 on local handlers: each instantiated term. */
  request (term: Term, options?: RequestOptions): AsyncGenerator<Term>
  /** Datagram texts of library(udp_broadcast); each bad one gives `{ error: reason }`. */
  decodeUdp (datagrams: string[]): Promise<UdpDecodeResult[]>
  /** @throws TermConversionError when a term cannot be written (the whole batch) */
  encodeUdp (messages: UdpMessage[]): Promise<string[]>
  /**
   * The UDP bridge's way in: datagram texts read as decodeUdp reads them, and the changes of shared
   * predicates among them (`send(assert(C))`, `request(Id, retract(C))`, ...) done in the same
   * call, in order, reported to `onKbChange` before this resolves; the other messages come back.
   */
  receiveUdp (datagrams: string[]): Promise<UdpReceiveResult[]>
  /**
   * Applies changes of shared predicates from the network, in order, in one call of the worker,
   * without reporting them to `onKbChange`. A clause of a predicate not declared here declares
   * it shared; an assert of a known id and a retract of an unknown one do nothing; a refused op
   * is left out and listed, the others apply.
   */
  applyKb (ops: KbOp[]): Promise<ApplyKbResult>
  close (): Promise<void>
}

/** The Prolog sources the worker loads, next to this file (Parcel bundles them from these URLs). */
export const PROLOG_SOURCES: ReadonlyArray<{ name: string, url: URL, library?: boolean }> = [
  { name: 'p2p_engine.pl', url: new URL('./p2p_engine.pl', import.meta.url) },
  { name: 'p2p_udp.pl', url: new URL('./p2p_udp.pl', import.meta.url) },
  { name: 'p2p_broadcast.pl', url: new URL('./p2p_broadcast.pl', import.meta.url) },
  { name: 'p2p_network.pl', url: new URL('./p2p_network.pl', import.meta.url) },
  /** Loaded by p2p_kb.pl only, so that its exports stay out of module user. */
  { name: 'p2p_kb_check.pl', url: new URL('./p2p_kb_check.pl', import.meta.url), library: true },
  { name: 'p2p_kb.pl', url: new URL('./p2p_kb.pl', import.meta.url) }
]

const LOADED_WITH_ERRORS = new Set(['PrologError', 'SandboxError'])

interface Limits { options: RunOptions, timeout?: number, signal?: AbortSignal }
/** `replayed`: programs replayed (and shared predicates declared again); `ready`: restored too. */
interface Worker { session: Session, replayed: Promise<void>, ready: Promise<void>, network: NetworkQueries }
interface ConsultRecord { goal: Goal, limits: Limits }

export async function createEngine (components: EngineComponents, init: EngineInit = {}): Promise<Engine> {
  const inferenceLimit = init.inferenceLimit ?? DEFAULT_INFERENCE_LIMIT
  const timeout = init.timeout ?? DEFAULT_TIMEOUT_MS
  const grace = init.stopGrace ?? STOP_GRACE_MS
  const onOutput = init.onOutput ?? ((text, stream) => { (stream === 'stderr' ? console.error : console.log)(text.replace(/\n$/, '')) })
  const workerInit: WorkerInit = {
    sources: components.sources,
    load: PROLOG_SOURCES.filter(s => s.library !== true).map(s => s.name),
    maxDepth: init.maxDepth ?? DEFAULT_MAX_DEPTH,
    heartbeat: HEARTBEAT_INFERENCES,
    timeSlice: TIME_SLICE_MS,
    restoring: false
  }
  const consults: ConsultRecord[] = []
  const declared = new Map<string, PredicateIndicator>()
  const started = new WeakSet<Session>()
  let closed = false
  let broken: string | undefined
  let nextId = INIT_ID + 1
  let worker: Worker

  /** A worker; `restart` is why the one it replaces failed. */
  const spawn = (restart?: string): Worker => {
    const quiet = restart !== undefined && init.onKbChange !== undefined
    const network = networkQueries(init.onNetworkQuery, message => { session.post(message) }, text => { onOutput(text, 'stderr') })
    const session = startSession(components.spawn, { ...workerInit, restoring: quiet }, {
      onPublish: term => init.onPublish?.(term),
      onOutput,
      onKbChanges: (changes, names) => {
        for (const pi of names) declared.set(`${pi.name}/${pi.arity}`, pi)
        for (const change of changes) init.onKbChange?.(change)
        if (names.length > 0) init.onDeclare?.(names)
      },
      onNetwork: call => { network.handle(call) },
      onDeath: (dead, reason) => { replace(dead, reason) }
    })
    const replayed = session.started.then(async () => {
      started.add(session)
      await replay(session)
      const known = [...declared.values()]
      if (quiet) await callOn(session, id => ({ type: 'kb-declare', id, declared: known }), () => {})
    })
    const ready = replayed.then(async () => {
      if (restart !== undefined) await restore(session, restart, quiet)
    })
    // Awaited by readySession(); a dead worker's are replaced.
    replayed.catch(() => {})
    ready.catch(() => {})
    return { session, replayed, ready, network }
  }

  /** onRestart, when applyKb already reaches the new worker and nothing else does yet. */
  const restore = async (session: Session, reason: string, quiet: boolean): Promise<void> => {
    try {
      await init.onRestart?.(reason)
    } catch (err) {
      onOutput(`p2p: onRestart failed: ${err instanceof Error ? err.message : String(err)}\n`, 'stderr')
    }
    if (quiet) await callOn(session, id => ({ type: 'kb-end-restore', id }), () => {})
  }

  const replace = (dead: Session, reason: string): void => {
    if (closed || worker.session !== dead) return
    worker.network.closeAll()
    if (!started.has(dead)) {
      broken = reason // a worker that never started would fail again
      return
    }
    worker = spawn(reason)
  }

  const onStuck = (session: Session): void => {
    void session.kill(new EngineStoppedError('the Prolog worker was replaced: a goal did not stop'))
    replace(session, `a goal did not stop within ${grace} ms`)
  }

  /** The programs consulted so far, in order; one that kills the worker is dropped. */
  const replay = async (session: Session): Promise<void> => {
    for (const record of [...consults]) {
      try {
        await consultOn(session, record)
      } catch (err) {
        if (session.alive) continue // the program has errors, as it had the first time
        consults.splice(consults.indexOf(record), 1)
        throw err
      }
    }
  }

  /** The current worker once it is ready; with `replayed`, once it has replayed its programs. */
  const readySession = async (stage: 'replayed' | 'ready' = 'ready'): Promise<Session> => {
    for (;;) {
      if (closed) throw new EngineStoppedError()
      if (broken !== undefined) throw new EngineStoppedError(`the Prolog worker does not start: ${broken}`)
      const current = worker
      await current[stage].catch(() => {})
      if (current !== worker) continue // it died and was replaced meanwhile
      if (!current.session.alive) throw new EngineStoppedError()
      return current.session
    }
  }

  const channel = (session: Session, goal: Goal, limits: Limits): JobChannel =>
    new JobChannel({ session, id: nextId++, goal, options: limits.options, timeout: limits.timeout, signal: limits.signal, grace, onStuck })

  async function * answers (goal: Goal, limits: Limits, session?: Session): AsyncGenerator<Answer> {
    limits.signal?.throwIfAborted()
    const job = channel(session ?? await readySession(), goal, limits)
    let succeeded = false
    try {
      for (;;) {
        const event = await job.next()
        if (event.type === 'error') {
          yield { status: 'error', error: deserializeError(event.error) }
          return
        }
        if (event.type === 'fail') {
          if (!succeeded) yield { status: 'failure' }
          return
        }
        succeeded = true
        yield { status: 'success', ...event.answer }
        if (event.answer.last) return
      }
    } finally {
      await job.close()
    }
  }

  const first = async (goal: Goal, limits: Limits, session?: Session): Promise<Answer> => {
    for await (const answer of answers(goal, limits, session)) return answer
    return { status: 'failure' }
  }

  const consultOn = async (session: Session | undefined, record: ConsultRecord): Promise<void> => {
    const answer = await first(record.goal, record.limits, session)
    if (answer.status === 'error') throw answer.error
  }

  const limitsOf = (options: QueryOptions, sandbox: boolean, defaults: boolean): Limits => ({
    options: { sandbox, fromNetwork: options.fromNetwork, inferenceLimit: finite(options.inferenceLimit ?? (defaults ? inferenceLimit : undefined)) },
    timeout: finite(options.timeout ?? (defaults ? timeout : undefined)),
    signal: options.signal
  })
  const networkLimits = (): Limits => limitsOf({}, false, true)

  type Build = (id: number) => Parameters<Session['post']>[0]
  const call = async (build: Build, accept: (message: JobMessage) => unknown, stage?: 'replayed'): Promise<unknown> =>
    await callOn(await readySession(stage), build, accept)

  const callOn = async (session: Session, build: Build, accept: (message: JobMessage) => unknown): Promise<unknown> => {
    if (!session.alive) throw new EngineStoppedError()
    const id = nextId++
    const reply = await new Promise<JobMessage>(resolve => {
      const unlisten = session.listen(id, message => { unlisten(); resolve(message) })
      session.post(build(id))
    })
    if (reply.type === 'error') throw deserializeError(reply.error)
    return accept(reply)
  }

  worker = spawn()
  await worker.ready

  return {
    async consult (text, options = {}) {
      const sandbox = options.sandbox ?? false
      const source = options.source ?? `/p2p/consult/${nextId}`
      const record: ConsultRecord = { goal: { kind: 'consult', text, source }, limits: limitsOf(options, sandbox, sandbox) }
      const answer = await first(record.goal, record.limits)
      // A program with errors is kept, as SWI-Prolog keeps what loaded; a stopped load is not.
      // Loading a source again replaces it, so only its last load is replayed.
      if (answer.status !== 'error' || LOADED_WITH_ERRORS.has(answer.error.name)) {
        const earlier = consults.findIndex(r => r.goal.kind === 'consult' && r.goal.source === source)
        if (earlier >= 0) consults.splice(earlier, 1)
        consults.push({ ...record, limits: { ...record.limits, signal: undefined } })
      }
      if (answer.status === 'error') throw answer.error
    },
    query: (goal, options = {}) => answers({ kind: 'term', goal }, limitsOf(options, options.sandbox ?? true, options.sandbox ?? true)),
    queryText: (text, options = {}) => answers({ kind: 'text', text }, limitsOf(options, options.sandbox ?? true, options.sandbox ?? true)),
    async broadcast (term) {
      const answer = await first({ kind: 'term', goal: { functor: 'broadcast', args: [term] } }, networkLimits())
      if (answer.status === 'error') throw answer.error
    },
    request: (term, options = {}) => request(term, options),
    decodeUdp: async (datagrams) => await call(id => ({ type: 'udp-decode', id, datagrams }), m => (m as { results: UdpDecodeResult[] }).results) as UdpDecodeResult[],
    encodeUdp: async (messages) => await call(id => ({ type: 'udp-encode', id, messages }), m => (m as { texts: string[] }).texts) as string[],
    receiveUdp: async (datagrams) => await call(id => ({ type: 'udp-receive', id, datagrams }), m => (m as { results: UdpReceiveResult[] }).results) as UdpReceiveResult[],
    // Ahead of the other calls while a new worker is restored (see the header).
    applyKb: async (ops) => await call(id => ({ type: 'kb-apply', id, ops }), m => ({ refused: (m as { refused: KbRefusal[] }).refused }), 'replayed') as ApplyKbResult,
    async close () {
      if (closed) return
      closed = true
      worker.network.closeAll()
      await worker.session.kill(new EngineStoppedError())
    }
  }

  async function * request (term: Term, options: RequestOptions): AsyncGenerator<Term> {
    const deadline = options.timeout === undefined ? undefined : AbortSignal.timeout(options.timeout)
    const signals = [options.signal, deadline].filter((s): s is AbortSignal => s !== undefined)
    const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined
    const goal: Goal = { kind: 'term', goal: { functor: 'broadcast_request', args: [term] } }
    try {
      for await (const answer of answers(goal, { ...networkLimits(), signal })) {
        if (answer.status === 'error') throw answer.error
        if (answer.status === 'success') yield (answer.goal as Compound).args[0]
      }
    } catch (err) {
      if (signal?.aborted === true && err === signal.reason) return
      throw err
    }
  }
}

function finite (n: number | undefined): number | undefined {
  return n === undefined || !Number.isFinite(n) ? undefined : Math.max(0, Math.floor(n))
}
