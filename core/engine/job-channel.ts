/**
 * The host's end of one job: asks the worker for one answer at a time, enforces the wall-clock
 * limit of each, and stops the job on abort, timeout or when its consumer is done.
 *
 * Stopping is soft first: `close` reaches the worker between two time slices of the goal and the
 * worker confirms with `closed`. A worker that does not confirm within the grace period is busy in
 * one long foreign call (no heartbeat comes): `onStuck` replaces it.
 */
import { EngineTimeoutError, serializeError } from './errors.ts'
import type { Goal, RunOptions } from './protocol.ts'
import type { JobMessage, Session } from './session.ts'

export type JobEvent = Extract<JobMessage, { type: 'answer' | 'fail' | 'error' }>

export interface JobChannelInit {
  session: Session
  id: number
  goal: Goal
  options: RunOptions
  /** Wall-clock ms for each answer; undefined for none. */
  timeout?: number
  signal?: AbortSignal
  grace: number
  /** The worker did not confirm a stop within `grace` ms. */
  onStuck: (session: Session) => void
}

export class JobChannel {
  private readonly init: JobChannelInit
  private readonly events: JobMessage[] = []
  private readonly waiters = new Set<() => void>()
  private opened = false
  private ended = false
  private closing?: Promise<void>
  private readonly unlisten: () => void
  private readonly onAbort = (): void => { void this.close() }

  constructor (init: JobChannelInit) {
    this.init = init
    this.unlisten = init.session.listen(init.id, message => {
      this.events.push(message)
      this.notify()
    })
    init.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /**
   * Asks for the next answer and waits for it.
   * @throws the signal's reason when it aborts
   */
  async next (): Promise<JobEvent> {
    const { session, id, goal, options, timeout, signal } = this.init
    signal?.throwIfAborted()
    if (this.ended) return { type: 'fail', id }
    session.post(this.opened ? { type: 'next', id } : { type: 'open', id, goal, options })
    this.opened = true
    const event = await this.within(timeout, signal)
    if (event === 'timeout') {
      await this.close()
      return { type: 'error', id, error: serializeError(new EngineTimeoutError(timeout as number)) }
    }
    if (event === 'abort') {
      await this.close()
      throw signal?.reason
    }
    if (event.type !== 'answer' || event.answer.last) this.finish()
    return event
  }

  /** Ends the job if it still runs or waits; resolves once the worker confirmed or was replaced. */
  async close (): Promise<void> {
    if (this.closing === undefined && !this.ended) this.closing = this.stop()
    await this.closing
  }

  private async stop (): Promise<void> {
    this.ended = true
    const { session, id, grace } = this.init
    if (!this.opened || !session.alive) return this.finish()
    session.post({ type: 'close', id })
    const confirmed = await this.confirmation(grace)
    this.finish()
    if (!confirmed && session.alive) this.init.onStuck(session)
  }

  private finish (): void {
    this.ended = true
    this.unlisten()
    this.init.signal?.removeEventListener('abort', this.onAbort)
  }

  /** The next answer, fail or error; or why waiting stopped first. */
  private async within (timeout: number | undefined, signal: AbortSignal | undefined): Promise<JobEvent | 'timeout' | 'abort'> {
    let timer: ReturnType<typeof setTimeout> | undefined
    let timedOut = false
    if (timeout !== undefined && Number.isFinite(timeout)) {
      timer = setTimeout(() => { timedOut = true; this.notify() }, timeout)
    }
    const onAbort = (): void => { this.notify() }
    signal?.addEventListener('abort', onAbort)
    try {
      for (;;) {
        const event = this.take(e => e.type === 'answer' || e.type === 'fail' || e.type === 'error')
        if (event !== undefined) return event as JobEvent
        if (timedOut) return 'timeout'
        if (signal?.aborted === true) return 'abort'
        await this.change()
      }
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** True once the worker says the job is gone (`closed`, or the error of a replaced worker). */
  private async confirmation (grace: number): Promise<boolean> {
    let expired = false
    const timer = setTimeout(() => { expired = true; this.notify() }, grace)
    try {
      for (;;) {
        if (this.take(e => e.type === 'closed' || e.type === 'error') !== undefined) return true
        if (expired) return false
        await this.change()
      }
    } finally {
      clearTimeout(timer)
    }
  }

  /** Resolves at the next message, timer or abort. */
  private async change (): Promise<void> {
    await new Promise<void>(resolve => { this.waiters.add(resolve) })
  }

  private notify (): void {
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const resolve of waiting) resolve()
  }

  private take (wanted: (event: JobMessage) => boolean): JobMessage | undefined {
    const index = this.events.findIndex(wanted)
    return index < 0 ? undefined : this.events.splice(index, 1)[0]
  }
}
