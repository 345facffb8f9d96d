/**
 * The peer: one member of the network, composed of an event channel (gossipsub), an engine
 * (SWI-Prolog) and a clock. Programs (the node peer, the browser page) use this object only.
 *
 * Messages follow SWI-Prolog's library(broadcast), extended across the network:
 * - `send(T)` reaches the listen/2,3 handlers of every peer's engine, this one's included, and
 *   every local subscriber (the UDP bridge);
 * - `request(T)` collects the answers of every peer's handlers (and of the bridges' UDP groups)
 *   until its timeout.
 * - `query(G)` (Prolog's network(G)) runs G sandboxed on every peer, this one included, and
 *   collects the instances; stopping early sends a cancel, which only the asker may send.
 */
import { createClock, isTooFarAhead } from './kb/clock.ts'
import { eventIdHex, isKbEvent, newEventId } from './wire/event.ts'
import type { EventChannel, InboundBatch } from './net/event-channel.ts'
import type { Clock } from './kb/clock.ts'
import type { Answer } from './engine/engine.ts'
import type { CancelEvent, EventId, Hlc, KbEvent, MessageEvent, QueryEvent, ReplyEvent, RequestEvent, WireEvent } from './wire/event.ts'
import type { Term } from './wire/term.ts'

/** The part of the engine a peer uses. */
export interface PeerEngine {
  broadcast (term: Term): Promise<void>
  request (term: Term, options?: { timeout?: number, signal?: AbortSignal }): AsyncGenerator<Term>
  query (goal: Term, options?: { fromNetwork?: boolean, signal?: AbortSignal }): AsyncGenerator<Answer>
}

export interface PeerInit {
  /** This peer's id: the origin of the events it makes. */
  origin: string
  channel: EventChannel
  engine: PeerEngine
  /** @default Date.now */
  now?: () => number
  /** The peer's clock; share it with the knowledge. @default a new clock on `now` */
  clock?: Clock
  /** Where kb events (assert, retract) from the network go: the knowledge. */
  onKbEvents?: (events: KbEvent[]) => void
  /** Called when a local handler or engine call fails; the peer keeps serving. */
  onError?: (err: Error) => void
}

export interface RequestOptions {
  /** How long answers are collected, in ms; at most MAX_REQUEST_TIMEOUT_MS. */
  timeout: number
  signal?: AbortSignal
}

export interface QueryOptions extends RequestOptions {
  /** The most answers one peer sends. @default MAX_QUERY_ANSWERS, which is also the most */
  limit?: number
}

export type RequestListener = (event: RequestEvent, reply: (term: Term) => void) => void

export interface Peer {
  readonly origin: string
  /** Broadcast a message to every peer, this one's engine included. */
  send (term: Term): MessageEvent
  /** Ask every peer; yields each answer as it arrives until the timeout. */
  request (term: Term, options: RequestOptions): AsyncGenerator<Term>
  /** Runs `goal` sandboxed on every peer; yields each instance as it arrives until the timeout. */
  query (goal: Term, options: QueryOptions): AsyncGenerator<Term>
  /** Messages from other peers. */
  onMessage (listener: (event: MessageEvent) => void): void
  /** Requests from other peers; `reply` sends one answer back. */
  onRequest (listener: RequestListener): void
  readonly counters: Readonly<Record<string, number>>
}

/** A request asks for answers at most this long, whatever its sender says. */
export const MAX_REQUEST_TIMEOUT_MS = 10_000

/** The most answers one peer sends to one query, whatever its asker says. */
export const MAX_QUERY_ANSWERS = 1_000

/** Queries from the network that a peer runs at once; it ignores (and counts) more. */
export const MAX_RUNNING_QUERIES = 16

/** Ids of recently seen events, to drop gossip duplicates; bounded so memory is too. */
const SEEN_CAPACITY = 100_000

export function createPeer (init: PeerInit): Peer {
  const { origin, channel, engine } = init
  const now = init.now ?? Date.now
  const onError = init.onError ?? (() => {})
  const counters: Record<string, number> = {}
  const count = (key: string): void => { counters[key] = (counters[key] ?? 0) + 1 }
  const messageListeners: Array<(event: MessageEvent) => void> = []
  const requestListeners: RequestListener[] = []
  const pending = new Map<string, (term: Term) => void>()
  /** Queries from the network being run, by id, with their asker. */
  const running = new Map<string, { asker: string, stop: AbortController }>()
  const seen = new Set<string>()
  const clock = init.clock ?? createClock(now)
  const base = (): { id: Uint8Array, hlc: Hlc, origin: string } => ({ id: newEventId(), hlc: clock.stamp(), origin })

  channel.onBatch((batch: InboundBatch) => {
    const kb: KbEvent[] = []
    for (const event of batch.events) {
      if (isKbEvent(event)) kb.push(event)
      else accept(event)
    }
    if (kb.length > 0) init.onKbEvents?.(kb)
  })

  function accept (event: WireEvent): void {
    const key = eventIdHex(event.id)
    if (seen.has(key)) { count('duplicate'); return }
    remember(key)
    if (isTooFarAhead(event.hlc, now())) { count('refused_clock_ahead'); return }
    clock.observe(event.hlc)
    count(`in_${event.kind}`)
    switch (event.kind) {
      case 'message': return deliverMessage(event)
      case 'request': return answerRequest(event)
      case 'reply': return pending.get(eventIdHex(event.request))?.(event.term)
      case 'query': return answerQuery(event)
      case 'cancel': return cancelQuery(event)
      default: count('ignored_kind')
    }
  }

  function remember (key: string): void {
    seen.add(key)
    if (seen.size > SEEN_CAPACITY) seen.delete(seen.values().next().value as string)
  }

  function deliverMessage (event: MessageEvent): void {
    engine.broadcast(event.term).catch(onError)
    for (const listener of messageListeners) guard(() => { listener(event) })
  }

  const replier = (request: EventId) => (term: Term): void => {
    const answer: ReplyEvent = { ...base(), kind: 'reply', request, term }
    channel.publish(answer)
  }

  function answerRequest (event: RequestEvent): void {
    const reply = replier(event.id)
    const bounded = { ...event, timeout: Math.min(event.timeout, MAX_REQUEST_TIMEOUT_MS) }
    void (async () => {
      for await (const term of engine.request(bounded.term, { timeout: bounded.timeout })) reply(term)
    })().catch(onError)
    for (const listener of requestListeners) guard(() => { listener(bounded, reply) })
  }

  function answerQuery (event: QueryEvent): void {
    if (running.size >= MAX_RUNNING_QUERIES) { count('refused_query_busy'); return }
    const key = eventIdHex(event.id)
    const stop = new AbortController()
    running.set(key, { asker: event.origin, stop })
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(Math.min(event.timeout, MAX_REQUEST_TIMEOUT_MS))])
    const reply = replier(event.id)
    void (async () => {
      for await (const instance of instances(event.goal, event.limit, signal)) {
        reply(instance)
        count('out_query_answer')
      }
    })().catch(onError).finally(() => running.delete(key))
  }

  function cancelQuery (event: CancelEvent): void {
    const run = running.get(eventIdHex(event.request))
    if (run === undefined) return
    if (run.asker !== event.origin) { count('refused_cancel_not_asker'); return }
    run.stop.abort()
  }

  /** The instances of `goal` that this engine proves, run as a goal from the network. */
  async function * instances (goal: Term, limit: number, signal: AbortSignal): AsyncGenerator<Term> {
    let left = Math.min(limit, MAX_QUERY_ANSWERS)
    if (left <= 0) return
    try {
      for await (const answer of engine.query(goal, { fromNetwork: true, signal })) {
        if (answer.status === 'error') count('query_error')
        if (answer.status !== 'success') return
        yield answer.goal
        if (--left === 0) return
      }
    } catch (err) {
      if (err !== signal.reason) throw err
    }
  }

  function guard (fn: () => void): void {
    try { fn() } catch (err) { onError(err as Error) }
  }

  function send (term: Term): MessageEvent {
    const event: MessageEvent = { ...base(), kind: 'message', term }
    remember(eventIdHex(event.id))
    channel.publish(event)
    engine.broadcast(term).catch(onError)
    return event
  }

  function request (term: Term, options: RequestOptions): AsyncGenerator<Term> {
    const timeout = Math.min(options.timeout, MAX_REQUEST_TIMEOUT_MS)
    const event: RequestEvent = { ...base(), kind: 'request', term, timeout }
    return collect(event, options.signal, signal => engine.request(term, { timeout, signal }))
  }

  function query (goal: Term, options: QueryOptions): AsyncGenerator<Term> {
    const timeout = Math.min(options.timeout, MAX_REQUEST_TIMEOUT_MS)
    const limit = Math.min(options.limit ?? MAX_QUERY_ANSWERS, MAX_QUERY_ANSWERS)
    const event: QueryEvent = { ...base(), kind: 'query', goal, timeout, limit }
    const cancel = (): void => {
      const cancelled: CancelEvent = { ...base(), kind: 'cancel', request: event.id }
      channel.publish(cancelled)
    }
    return collect(event, options.signal, signal => instances(goal, limit, signal), cancel)
  }

  /**
   * Publishes `event` and yields the replies to it, with this peer's own answers, until its
   * timeout or `signal`; `stoppedEarly` runs when the consumer stops before the timeout.
   */
  async function * collect (
    event: RequestEvent | QueryEvent,
    signal: AbortSignal | undefined,
    local: (done: AbortSignal) => AsyncIterable<Term>,
    stoppedEarly?: () => void
  ): AsyncGenerator<Term> {
    const key = eventIdHex(event.id)
    remember(key)
    const answers: Term[] = []
    let wake: (() => void) | undefined
    const push = (answer: Term): void => { answers.push(answer); wake?.() }
    const deadline = AbortSignal.timeout(event.timeout)
    const finished = new AbortController()
    const done = AbortSignal.any([deadline, finished.signal, ...(signal === undefined ? [] : [signal])])
    done.addEventListener('abort', () => wake?.(), { once: true })
    pending.set(key, push)
    channel.publish(event)
    void (async () => {
      for await (const answer of local(done)) push(answer)
    })().catch(onError)
    try {
      while (true) {
        while (answers.length > 0) yield answers.shift() as Term
        if (done.aborted) return
        await new Promise<void>(resolve => { wake = resolve })
        wake = undefined
      }
    } finally {
      pending.delete(key)
      finished.abort()
      if (!deadline.aborted) stoppedEarly?.()
    }
  }

  return {
    origin,
    send,
    request,
    query,
    onMessage: (listener) => { messageListeners.push(listener) },
    onRequest: (listener) => { requestListeners.push(listener) },
    counters
  }
}
