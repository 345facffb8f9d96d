/**
 * The engine's worker: SWI-Prolog (swipl-wasm) serving the messages of protocol.ts. It knows no
 * platform: the Node entry (node-peer/engine-worker.ts) and a browser Web Worker both hand it an
 * endpoint and a function that makes the swipl-wasm module.
 *
 * Scheduling: every job (job.ts) has an engine of its own; runnable jobs take turns of
 * TIME_SLICE_MS, one turn per macrotask, so messages (stop, next, new queries) are served between
 * turns while a goal computes. A job that waits for `next` costs nothing.
 *
 * After every turn, and every call of p2p_kb, the runtime hands the host what Prolog published
 * (broadcast(p2p(T))) and the local changes of shared predicates, with their new ids (kb-runtime.ts).
 *
 * A JavaScript exception out of SWI-Prolog (the WASM stack overflowed, `halt/0`, ...) leaves the
 * module in an unknown state: the runtime reports `fatal` and serves nothing more; the host
 * replaces the worker.
 */
import { READER_NESTING_LIMIT } from './constants.ts'
import { termConverter } from './convert.ts'
import { EngineStoppedError, PrologError, TermConversionError, serializeError } from './errors.ts'
import { openJob } from './job.ts'
import { applyOps, declare, drainChanges, restoreStep } from './kb-runtime.ts'
import { networkRuntime } from './network-runtime.ts'
import { asSwipl, inFrame, PL, predicate } from './swipl.ts'
import { nestsDeeperThan } from './text-nesting.ts'
import { decodeDatagrams, encodeMessages, receiveDatagrams } from './udp-codec.ts'
import type { Job, JobHost } from './job.ts'
import type { KbHost } from './kb-runtime.ts'
import type { NetworkRuntime } from './network-runtime.ts'
import type { Goal, HostMessage, KbOp, RunOptions, UdpMessage, WorkerEndpoint, WorkerInit, WorkerMessage } from './protocol.ts'
import type { Swipl } from './swipl.ts'
import type { UdpCodecHost } from './udp-codec.ts'

/** Options the runtime gives swipl-wasm's module factory (an Emscripten module object). */
export interface SwiplModuleOptions {
  arguments: string[]
  on_output: (text: string, stream: 'stdout' | 'stderr') => void
}

export type SwiplModuleFactory = (options: SwiplModuleOptions) => Promise<unknown>

/**
 * Runs a callback in a later macrotask, after the messages that arrived meanwhile. Browsers:
 * MessageChannel (the default; no timer clamping). Node: setImmediate, because Node drains a
 * MessagePort's queue in one go, so a MessageChannel loop would starve parentPort.
 */
export type Macrotask = (callback: () => void) => void

interface Runtime {
  readonly pl: Swipl
  readonly timeSlice: number
  readonly jobs: JobHost
  readonly codec: UdpCodecHost
  readonly kb: KbHost
  readonly network: NetworkRuntime
  readonly takePublished: number
}

const CALL_FLAGS = PL.Q_NODEBUG | PL.Q_CATCH_EXCEPTION

export function startRuntime (endpoint: WorkerEndpoint, createModule: SwiplModuleFactory, later: Macrotask = messageChannelMacrotask()): void {
  const post = (message: WorkerMessage): void => { endpoint.postMessage(message) }
  const module = createModule({
    arguments: ['-q'],
    on_output: (text, stream) => { post({ type: 'output', text, stream }) }
  })
  let runtime: Runtime | undefined
  let dead = false
  const early: HostMessage[] = []
  const jobs = new Map<number, Job>()
  const runnable: Job[] = []
  const nextTurn = onePending(later, () => { guard(turn) })

  const guard = (fn: () => void): void => {
    if (dead) return
    try {
      fn()
    } catch (err) {
      // The host ends every open job when it hears this, and replaces the worker.
      dead = true
      post({ type: 'fatal', message: describe(err) })
    }
  }

  const schedule = (job: Job): void => {
    if (!runnable.includes(job)) runnable.push(job)
    nextTurn.request()
  }

  const turn = (): void => {
    const job = runnable.shift()
    if (job === undefined || runtime === undefined) return
    const outcome = job.run(performance.now() + runtime.timeSlice)
    if (outcome === 'paused') runnable.push(job)
    if (outcome === 'ended') jobs.delete(job.id)
    drain(runtime, post)
    if (runnable.length > 0) nextTurn.request()
  }

  const handle = (message: HostMessage): void => {
    if (runtime === undefined) {
      if (message.type === 'init') void init(message.id, message.init)
      else early.push(message)
      return
    }
    serve(runtime, message)
  }

  const serve = (rt: Runtime, message: HostMessage): void => {
    switch (message.type) {
      case 'init': return
      case 'open': return open(rt, message.id, message.goal, message.options)
      case 'next': {
        const job = jobs.get(message.id)
        if (job !== undefined) schedule(job)
        return
      }
      case 'close': {
        const job = jobs.get(message.id)
        jobs.delete(message.id)
        if (job !== undefined) {
          const queued = runnable.indexOf(job)
          if (queued >= 0) runnable.splice(queued, 1)
          job.close()
          drain(rt, post) // what the query's cleanup did: a network/1 it was in is closed
        }
        return post({ type: 'closed', id: message.id })
      }
      case 'udp-decode': return post({ type: 'udp-decoded', id: message.id, results: decodeDatagrams(rt.codec, message.datagrams) })
      case 'udp-encode': return encode(rt, message.id, message.messages)
      case 'udp-receive': return receive(rt, message.id, message.datagrams)
      case 'kb-apply': return apply(rt, message.id, message.ops)
      case 'kb-declare':
        declare(rt.kb, message.declared)
        drain(rt, post)
        return post({ type: 'kb-done', id: message.id })
      case 'kb-end-restore':
        restoreStep(rt.kb, 'end')
        drain(rt, post)
        return post({ type: 'kb-done', id: message.id })
      case 'network-answers': return rt.network.deliver(message)
    }
  }

  const apply = (rt: Runtime, id: number, ops: KbOp[]): void => {
    try {
      const refused = applyOps(rt.kb, ops)
      drain(rt, post)
      post({ type: 'kb-applied', id, refused })
    } catch (err) {
      if (!(err instanceof PrologError)) throw err
      post({ type: 'error', id, error: serializeError(err) })
    }
  }

  /** The changes it did reach the host (kb-changes) before its reply does. */
  const receive = (rt: Runtime, id: number, datagrams: string[]): void => {
    try {
      const results = receiveDatagrams(rt.codec, datagrams)
      drain(rt, post)
      post({ type: 'udp-received', id, results })
    } catch (err) {
      if (!(err instanceof PrologError)) throw err
      drain(rt, post)
      post({ type: 'error', id, error: serializeError(err) })
    }
  }

  const open = (rt: Runtime, id: number, goal: Goal, options: RunOptions): void => {
    try {
      checkReadable(goal)
      const job = openJob({ ...rt.jobs, wake: schedule, awaitTerm: rt.network.wait }, id, goal, options)
      jobs.set(id, job)
      schedule(job)
    } catch (err) {
      if (!(err instanceof TermConversionError || err instanceof EngineStoppedError)) throw err
      post({ type: 'error', id, error: serializeError(err) })
    }
  }

  const encode = (rt: Runtime, id: number, messages: UdpMessage[]): void => {
    try {
      post({ type: 'udp-encoded', id, texts: encodeMessages(rt.codec, messages) })
    } catch (err) {
      if (!(err instanceof TermConversionError)) throw err
      post({ type: 'error', id, error: serializeError(err) })
    }
  }

  const init = async (id: number, init: WorkerInit): Promise<void> => {
    try {
      runtime = load(asSwipl(await module), init, post)
    } catch (err) {
      dead = true
      post({ type: 'fatal', message: `the Prolog worker did not start: ${describe(err)}` })
      return
    }
    post({ type: 'ready', id })
    for (const message of early.splice(0)) guard(() => { handle(message) })
  }

  endpoint.onMessage(message => { guard(() => { handle(message) }) })
}

/** Loads the p2p modules and looks up the predicates the runtime calls. */
function load (pl: Swipl, init: WorkerInit, post: (message: WorkerMessage) => void): Runtime {
  if (!pl.FS.analyzePath('/p2p').exists) pl.FS.mkdir('/p2p')
  for (const source of init.sources) pl.FS.writeFile(`/p2p/${source.name}`, source.text)
  const convert = termConverter(pl, { maxDepth: init.maxDepth })
  const useModule = predicate(pl, 'system', 'use_module', 1)
  for (const name of init.load) {
    inFrame(pl, () => {
      const file = pl._PL_new_term_ref()
      convert.put(file, { atom: `/p2p/${name}` })
      if (pl._PL_call_predicate(0, CALL_FLAGS, useModule, file) === 0) throw new Error(`cannot load ${name}`)
    })
  }
  const p2p = (name: string, arity: number): number => predicate(pl, 'p2p_engine', name, arity)
  const kb = (name: string, arity: number): number => predicate(pl, 'p2p_kb', name, arity)
  const runtime: Runtime = {
    pl,
    timeSlice: init.timeSlice,
    jobs: {
      pl,
      convert,
      predicates: { runGoal: p2p('run_goal', 3), runText: p2p('run_text', 4), consultText: p2p('consult_text', 4), errorInfo: p2p('error_info', 3) },
      heartbeat: init.heartbeat,
      post,
      wake: () => {},
      awaitTerm: () => undefined
    },
    codec: {
      pl,
      convert,
      predicates: { messageString: predicate(pl, 'p2p_udp', 'udp_message_string', 2), stringMessage: predicate(pl, 'p2p_udp', 'udp_string_message', 3), updateDatagrams: kb('kb_update_datagrams', 2) },
      maxNesting: Math.min(init.maxDepth, READER_NESTING_LIMIT)
    },
    kb: {
      pl,
      convert,
      predicates: { take: kb('kb_take_changes', 2), bind: kb('kb_bind_ids', 1), apply: kb('kb_apply', 2), begin: kb('kb_begin_restore', 0), declare: kb('kb_declare', 1), end: kb('kb_end_restore', 0) }
    },
    network: networkRuntime({
      pl,
      convert,
      predicates: { take: predicate(pl, 'p2p_network', 'take_network_calls', 1), deliver: predicate(pl, 'p2p_network', 'network_deliver', 3) }
    }),
    takePublished: predicate(pl, 'p2p_broadcast', 'take_published', 1)
  }
  if (init.restoring) restoreStep(runtime.kb, 'begin')
  return runtime
}

/** Hands what the last Prolog call published or changed in shared predicates to the host. */
function drain (rt: Runtime, post: (message: WorkerMessage) => void): void {
  drainPublished(rt, post)
  drainChanges(rt.kb, post)
  rt.network.drain(post)
}

/** Text SWI-Prolog would read with a recursion deep enough to overflow the WASM stack is refused. */
function checkReadable (goal: Goal): void {
  if (goal.kind === 'term') return
  const text = goal.text
  if (typeof text !== 'string') throw new TermConversionError('not-a-term', 'the goal text is not a string')
  if (nestsDeeperThan(text, READER_NESTING_LIMIT)) {
    throw new TermConversionError('too-deep', `the text nests brackets more than ${READER_NESTING_LIMIT} deep`)
  }
}

/** Hands what broadcast(p2p(T)) published to the host, one term at a time. */
function drainPublished (rt: Runtime, post: (message: WorkerMessage) => void): void {
  const { pl, convert } = rt.jobs
  inFrame(pl, () => {
    const list = pl._PL_new_term_ref()
    if (pl._PL_call_predicate(0, CALL_FLAGS, rt.takePublished, list) === 0) return
    const head = pl._PL_new_term_ref()
    while (pl._PL_get_list(list, head, list) !== 0) {
      try {
        post({ type: 'publish', term: convert.get(head) })
      } catch (err) {
        if (!(err instanceof TermConversionError)) throw err
        post({ type: 'output', text: `p2p: not published: ${err.message}\n`, stream: 'stderr' })
      }
    }
  })
}

/** `callback` in a later macrotask, requested any number of times but pending at most once. */
function onePending (later: Macrotask, callback: () => void): { request: () => void } {
  let pending = false
  return {
    request () {
      if (pending) return
      pending = true
      later(() => {
        pending = false
        callback()
      })
    }
  }
}

function messageChannelMacrotask (): Macrotask {
  const channel = new MessageChannel()
  const queue: Array<() => void> = []
  channel.port1.onmessage = () => { queue.shift()?.() }
  return (callback) => {
    queue.push(callback)
    channel.port2.postMessage(null)
  }
}

/** Emscripten throws objects that are no Errors (ExitStatus for halt/0). */
function describe (err: unknown): string {
  const message = (err as { message?: unknown } | undefined)?.message
  return typeof message === 'string' ? message : String(err)
}
