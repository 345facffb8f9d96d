/**
 * One worker's life, seen from the host: it starts the worker, routes its messages to the jobs
 * by id, and, when the worker is killed or dies, ends every job still listening with
 * EngineStoppedError so that no caller waits forever.
 */
import { EngineStoppedError, serializeError } from './errors.ts'
import type { Term } from '../wire/term.ts'
import type { HostMessage, KbChange, PredicateIndicator, WorkerFactory, WorkerHandle, WorkerInit, WorkerMessage } from './protocol.ts'

/** The messages that belong to one job. */
export type JobMessage = Extract<WorkerMessage, { id: number }>
export type NetworkCall = Extract<WorkerMessage, { type: 'network-open' | 'network-close' }>

export interface SessionHooks {
  onPublish: (term: Term) => void
  onOutput: (text: string, stream: 'stdout' | 'stderr') => void
  onKbChanges: (changes: KbChange[], declared: PredicateIndicator[]) => void
  /** network-open and network-close from Prolog's network/1,2. */
  onNetwork: (message: NetworkCall) => void
  /** The worker failed (a `fatal` message, or it exited); the session is dead already. */
  onDeath: (session: Session, reason: string) => void
}

export interface Session {
  /** Resolves once the worker has loaded SWI-Prolog and the p2p modules; rejects if it died first. */
  readonly started: Promise<void>
  readonly alive: boolean
  post (message: HostMessage): void
  /** Routes the job's messages to `listener` until the returned function is called. */
  listen (id: number, listener: (message: JobMessage) => void): () => void
  /** Terminates the worker; every listening job gets `{ type: 'error' }` with `error`. */
  kill (error: EngineStoppedError): Promise<void>
}

export const INIT_ID = 0

export function startSession (spawn: WorkerFactory, init: WorkerInit, hooks: SessionHooks): Session {
  const listeners = new Map<number, (message: JobMessage) => void>()
  const handle: WorkerHandle = spawn()
  let alive = true
  let markStarted: () => void = () => {}
  let failStart: (err: Error) => void = () => {}
  const started = new Promise<void>((resolve, reject) => { markStarted = resolve; failStart = reject })
  started.catch(() => {}) // a session may die before anyone waits for it

  const stopJobs = (error: EngineStoppedError): void => {
    const serialized = serializeError(error)
    for (const [id, listener] of [...listeners]) listener({ type: 'error', id, error: serialized })
    listeners.clear()
  }

  const session: Session = {
    started,
    get alive () { return alive },
    post (message) {
      if (alive) handle.postMessage(message)
    },
    listen (id, listener) {
      listeners.set(id, listener)
      return () => { if (listeners.get(id) === listener) listeners.delete(id) }
    },
    async kill (error) {
      if (!alive) return
      alive = false
      failStart(error)
      stopJobs(error)
      await handle.terminate()
    }
  }

  const die = (reason: string): void => {
    if (!alive) return
    void session.kill(new EngineStoppedError(`the Prolog worker was replaced: ${reason}`))
    hooks.onDeath(session, reason)
  }

  handle.onMessage(message => {
    switch (message.type) {
      case 'ready': return markStarted()
      case 'publish': return hooks.onPublish(message.term)
      case 'output': return hooks.onOutput(message.text, message.stream)
      case 'kb-changes': return hooks.onKbChanges(message.changes, message.declared)
      case 'network-open':
      case 'network-close': return hooks.onNetwork(message)
      case 'fatal': return die(message.message)
      default: listeners.get(message.id)?.(message)
    }
  })
  handle.onExit(error => { die(error.message) })
  handle.postMessage({ type: 'init', id: INIT_ID, init })
  return session
}
