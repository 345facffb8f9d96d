/**
 * Shared knowledge: the replicated clauses of shared predicates, made of four parts that each do
 * one thing: the engine (reports local asserts and retracts, materialises remote ones), the
 * replica (the converging set of kb events, pure), the store (durable log) and the event channel
 * (gossip), with the sync protocol to catch up.
 *
 * A local change is published only after its event is on disk (fsynced): until then this disk is
 * its only copy. A remote event is checked by the replica, then given to the engine and written
 * (not fsynced) at the same time: its origin holds it durably, and sync gives back what a crash
 * here loses. On start the store is replayed into the replica and the engine. A gap in an
 * origin's sequence numbers (gossip lost in a burst) starts a pull from the neighbours.
 */
import { eventIdHex, newEventId } from './wire/event.ts'
import { isAtom, isCompound } from './wire/term.ts'
import type { Clock } from './kb/clock.ts'
import type { KbOp, Replica } from './kb/replica.ts'
import type { EventChannel } from './net/event-channel.ts'
import type { EventStore } from './store/event-store.ts'
import type { KbEvent } from './wire/event.ts'
import type { Term } from './wire/term.ts'

/** A local change of a shared predicate, as the engine reports it. */
export type KbChange =
  | { kind: 'assert', id: Uint8Array, clause: Term, front: boolean }
  | { kind: 'retract', ids: Uint8Array[] }

/** The part of the engine that shared knowledge uses. */
export interface KnowledgeEngine {
  applyKb (ops: KbOp[]): Promise<{ refused: Array<{ id: Uint8Array, reason: string }> }>
}

export interface KnowledgeInit {
  origin: string
  /** Shared with the peer, so that all of a peer's events follow one clock. */
  clock: Clock
  replica: Replica
  store: EventStore
  /** Absent where no Prolog runs (the signaller keeps the replica and serves sync only). */
  engine?: KnowledgeEngine
  /** Absent in tests of the knowledge alone. */
  channel?: Pick<EventChannel, 'publish'>
  /** Called when events reveal a gap; the caller pulls from its neighbours. */
  onGap?: () => void
  /**
   * Ops stored but not yet applied by the engine beyond which `remote()` waits for the engine: the
   * replica and the store run ahead of a slower engine (a catch-up), by this much at most. @default 200000
   */
  maxEngineBacklog?: number
  now?: () => number
  onError?: (err: Error) => void
}

export interface Knowledge {
  /** Replays the store into the replica and the engine. */
  start (): Promise<void>
  /** A change the local engine made. */
  local (change: KbChange): void
  /**
   * Kb events from the network (gossip or sync); resolves once the replica holds them and they are
   * stored, the engine applying them behind (`settled()` waits for that too), unless the engine is
   * more than `maxEngineBacklog` ops behind: then also once it has caught up.
   */
  remote (events: readonly KbEvent[]): Promise<void>
  /** Gives the engine every live clause again: the engine's `onRestart` after its worker was replaced. */
  rematerialise (): Promise<void>
  /** What this replica holds, in numbers a test or an operator can compare across peers. */
  summary (): KnowledgeSummary
  /** The predicates that have live clauses, with how many, by name then arity. */
  predicates (): PredicateCount[]
  /** Called after the live clauses changed: a local change stored, or remote events applied. */
  onChange (listener: () => void): () => void
  /** Waits until every change so far is stored, applied and published. */
  settled (): Promise<void>
  readonly counters: Readonly<Record<string, number>>
}

export interface KnowledgeSummary {
  /** Live clauses. */
  clauses: number
  /** Kb events held (asserts and retracts). */
  events: number
  /** A digest of the live clause ids, kept up to date (Replica.digest): equal on two peers when they hold the same clauses. */
  digest: string
}

export interface PredicateCount {
  name: string
  arity: number
  clauses: number
}

/** Ops given to the engine in one call; bounds one worker message. */
const OPS_PER_CALL = 10_000
const GAP_REPAIR_DELAY_MS = 250
const MAX_ENGINE_BACKLOG = 200_000

export function createKnowledge (init: KnowledgeInit): Knowledge {
  const { origin, replica, store, engine, channel } = init
  const now = init.now ?? Date.now
  const onError = init.onError ?? (() => {})
  const maxEngineBacklog = init.maxEngineBacklog ?? MAX_ENGINE_BACKLOG
  const counters: Record<string, number> = {}
  const count = (key: string, n = 1): void => { counters[key] = (counters[key] ?? 0) + n }
  let nextSeq = 1
  let pendingLocal: KbChange[] = []
  let pendingRemote: KbEvent[] = []
  let remoteFlush: Promise<void> | undefined
  let gapTimer: ReturnType<typeof setTimeout> | undefined
  const changeListeners = new Set<() => void>()
  const changed = (): void => {
    for (const listener of changeListeners) {
      try { listener() } catch (err) { onError(err as Error) }
    }
  }
  // One thing at a time, in order: local and remote events interleave in the store as they came.
  let queue: Promise<void> = Promise.resolve()
  const serially = (work: () => Promise<void>): Promise<void> => {
    queue = queue.then(work, work).catch((err: Error) => { onError(err) })
    return queue
  }
  // The engine calls for remote events, in order, each after its events were stored: the queue
  // above stores the next batch meanwhile, so the disk, the main thread and the worker overlap.
  let applying: Promise<void> = Promise.resolve()
  let backlog = 0
  const inEngine = (ops: KbOp[]): void => {
    backlog += ops.length
    applying = applying.then(async () => {
      await materialise(ops)
      if (ops.length > 0) changed()
    }).catch((err: Error) => { onError(err) }).finally(() => { backlog -= ops.length })
  }

  /** One engine call in flight while the next chunk of the store is read, decoded and applied to the replica. */
  async function start (): Promise<void> {
    let ops: KbOp[] = []
    let inFlight: Promise<void> = Promise.resolve()
    const next = async (): Promise<void> => {
      await inFlight
      inFlight = materialise(ops)
      inFlight.catch(() => {}) // awaited in turn; until then it must not count as unhandled
      ops = []
    }
    for await (const event of store.all()) {
      // Stored events were accepted once: the clock may have been set back since.
      const result = replica.apply(event, Infinity)
      if (result.status === 'applied') ops.push(...result.ops)
      if (ops.length >= OPS_PER_CALL) await next()
    }
    await next()
    await inFlight
    nextSeq = replica.nextSeq(origin)
    count('replayed_events', replica.eventCount)
    changed()
  }

  function local (change: KbChange): void {
    pendingLocal.push(change)
    // Changes of one turn share one store write.
    if (pendingLocal.length === 1) void serially(flushLocal)
  }

  async function flushLocal (): Promise<void> {
    const changes = pendingLocal
    pendingLocal = []
    const events = changes.map(toEvent)
    // fsynced before it leaves: until peers hold it, this disk is its only copy, and a seq once
    // published must never be numbered again after a power loss.
    await store.append(events)
    for (const event of events) {
      const result = replica.apply(event, now())
      if (result.status !== 'applied') count(`local_${result.status}`)
      channel?.publish(event)
    }
    count('local_events', events.length)
    changed()
  }

  function toEvent (change: KbChange): KbEvent {
    const base = { hlc: init.clock.stamp(), origin, seq: nextSeq++ }
    return change.kind === 'assert'
      ? { kind: 'assert', id: change.id, clause: change.clause, front: change.front, ...base }
      : { kind: 'retract', id: newEventId(), ids: change.ids, ...base }
  }

  /**
   * Events that arrive while earlier ones are being stored wait, and then go in one store write
   * and one engine call: applying them one by one, a peer behind a busy disk falls further behind
   * with every event. Not waiting for the engine lets a catch-up fill the replica while the engine
   * boots or applies (it takes ~26 µs an op), within the backlog's bound.
   */
  function remote (events: readonly KbEvent[]): Promise<void> {
    pendingRemote.push(...events)
    remoteFlush ??= serially(async () => {
      const batch = pendingRemote
      pendingRemote = []
      remoteFlush = undefined
      await storeRemote(batch)
    }).then(async () => {
      // Outside the queue: local changes and later batches do not wait for the engine.
      if (backlog > maxEngineBacklog) await applying
    })
    return remoteFlush
  }

  /** Takes remote events into the replica, queues their engine call, and stores them. */
  async function storeRemote (events: readonly KbEvent[]): Promise<void> {
    const ops: KbOp[] = []
    const accepted: KbEvent[] = []
    const time = now()
    for (const event of events) {
      const result = replica.apply(event, time)
      if (result.status !== 'applied') {
        count(result.status === 'refused' ? `remote_refused_${result.reason}` : 'remote_duplicate')
        continue
      }
      init.clock.observe(event.hlc)
      accepted.push(event)
      for (const op of result.ops) ops.push(op)
    }
    if (accepted.length > 0) count('remote_applied', accepted.length)
    // The engine need not wait for the disk (2-4 ms a write with other processes writing): each
    // of these events is on its origin's disk, and one this peer loses before it is written comes
    // back by sync. For the same reason no fsync: a write survives this process's crash, and only
    // a power loss can undo it. Only what the replica took is kept, so a replay takes exactly the
    // same events again.
    inEngine(ops)
    if (replica.gaps().length > 0) scheduleGapRepair()
    await store.append(accepted, { sync: false })
  }

  async function materialise (ops: KbOp[]): Promise<void> {
    if (engine === undefined || ops.length === 0) return
    for (let i = 0; i < ops.length; i += OPS_PER_CALL) {
      const { refused } = await engine.applyKb(ops.slice(i, i + OPS_PER_CALL))
      for (const { reason } of refused) count(`unmaterialised_${reason}`)
    }
  }

  function scheduleGapRepair (): void {
    if (gapTimer !== undefined || init.onGap === undefined) return
    count('gap_repairs')
    gapTimer = setTimeout(() => { gapTimer = undefined; init.onGap?.() }, GAP_REPAIR_DELAY_MS)
  }

  return {
    start,
    local,
    remote,
    // Not through the queue: the engine holds its other calls until this is done, and the queue
    // may be waiting for one of them.
    rematerialise: async () => materialise(replica.clauses().map(c => ({ op: 'assert', id: c.id, clause: c.clause, front: false }))),
    summary: () => ({ clauses: replica.size, events: replica.eventCount, digest: replica.digest }),
    predicates: () => countPredicates(replica.liveTerms()),
    onChange: (listener) => {
      changeListeners.add(listener)
      return () => { changeListeners.delete(listener) }
    },
    settled: async () => { await serially(async () => {}); await applying },
    counters
  }
}

/** Clause counts by predicate: the head of `H :- B` or of a fact, module qualifiers left out. */
export function countPredicates (clauses: readonly Term[]): PredicateCount[] {
  const counts = new Map<string, PredicateCount>()
  for (const clause of clauses) {
    const head = headOf(clause)
    const name = isAtom(head) ? head.atom : isCompound(head) ? head.functor : undefined
    if (name === undefined) continue
    const arity = isCompound(head) ? head.args.length : 0
    const key = `${name}/${arity}`
    const known = counts.get(key)
    if (known === undefined) counts.set(key, { name, arity, clauses: 1 })
    else known.clauses++
  }
  return [...counts.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : a.arity - b.arity)
}

function headOf (clause: Term): Term {
  let head = isCompound(clause, ':-', 2) ? clause.args[0] : clause
  while (isCompound(head, ':', 2)) head = head.args[1]
  return head
}
