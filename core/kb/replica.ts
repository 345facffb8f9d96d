/**
 * The replicated clause set of shared knowledge: an add-wins observed-remove set (OR-set) of
 * clauses, as a pure state machine over kb events (docs/kb.md is the full statement).
 *
 * - An assert event adds the clause whose id is the event's id. A retract event removes exactly
 *   the ids it names, the clause instances its peer had seen; an assert it had not seen (another
 *   id) survives: add-wins. Ids named before their assert arrives stay removed (tombstones).
 * - Events are applied in any order, gaps included; two replicas that hold the same events hold
 *   the same clauses, whatever the order they arrived in, and `clauses()` lists them in one
 *   canonical order.
 * - Each origin numbers its kb events 1, 2, 3, ...; `vector()` says which prefix of each origin is
 *   held, `missing(vector)` what another replica lacks, `gaps()` what this one lacks.
 *
 * Not guaranteed: convergence when an origin equivocates (two different events under one seq, or
 * one id for two events: the first to arrive wins, the second is refused, so replicas that saw
 * them in different orders differ); the order of clauses inside a running engine (arrival order).
 *
 * No I/O, no timers: the caller passes the time in. The state is mutated in place, because it is
 * large (100,000 clauses) and apply is the hot path.
 *
 * @example
 * ```ts
 * import { Replica } from './core/kb/replica.ts'
 * import { atom, compound, newEventId } from './core/wire/index.ts'
 * import type { AssertEvent } from './core/wire/index.ts'
 *
 * const origin = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
 * const replica = new Replica()
 * const likes: AssertEvent = {
 *   kind: 'assert', id: newEventId(), hlc: { wall: Date.now(), counter: 0 }, origin,
 *   seq: replica.nextSeq(origin), front: false, clause: compound('likes', atom('ann'), atom('tea'))
 * }
 * replica.apply(likes, Date.now())   // { status: 'applied', ops: [{ op: 'assert', ... }] }: for the engine
 * replica.apply(likes, Date.now())   // { status: 'duplicate' }
 * replica.missing(new Map())         // [likes]: what a replica that holds nothing lacks
 * ```
 */
import { compareHlc, MAX_CLOCK_DRIFT_MS } from './clock.ts'
import { OriginLog } from './origin-log.ts'
import { sameEvent } from './same-event.ts'
import { SetDigest } from './set-digest.ts'
import { DEFAULT_EVENT_LIMITS } from '../wire/limits.ts'
import type { SeqRange } from './origin-log.ts'
import type { AssertEvent, EventId, KbEvent, RetractEvent } from '../wire/event.ts'
import type { Vector } from '../wire/vector.ts'
import type { Term } from '../wire/term.ts'

/** A change to the live clause set, for the engine to materialise. */
export type KbOp =
  | { readonly op: 'assert', readonly id: EventId, readonly clause: Term, readonly front: boolean }
  | { readonly op: 'retract', readonly id: EventId }

/** Origin -> n: the replica holds every kb event 1..n of that origin. Origins with n = 0 are left out. */
export type { Vector } from '../wire/vector.ts'

/** Why an event was not applied (docs/kb.md, "Apply"). */
export type KbRefusal =
  | 'bad-seq'       // seq is not a positive safe integer
  | 'seq-conflict'  // another event holds this (origin, seq): the first one stays
  | 'id-conflict'   // another event, of another (origin, seq), holds this id: the first one stays
  | 'clock-ahead'   // hlc further ahead of nowMs than the allowed drift: not held, may be sent again later
  | 'too-many-ids'  // a retract naming more than maxRetractIds ids

export type ApplyResult =
  | { readonly status: 'applied', readonly ops: KbOp[] }
  | { readonly status: 'duplicate' }
  | { readonly status: 'refused', readonly reason: KbRefusal }

export interface ReplicaInit {
  /** How far an event's hlc may be ahead of `nowMs`. @default MAX_CLOCK_DRIFT_MS (60,000) */
  maxClockDriftMs?: number
  /** Ids one retract may name; bounds the tombstones an event can make. @default 4_096 (the wire limit) */
  maxRetractIds?: number
}

export interface LiveClause { readonly id: EventId, readonly clause: Term, readonly front: boolean }

export interface Gap extends SeqRange { readonly origin: string }

const DUPLICATE: ApplyResult = Object.freeze({ status: 'duplicate' })

export class Replica {
  private readonly maxClockDriftMs: number
  private readonly maxRetractIds: number
  private readonly logs = new Map<string, OriginLog>()
  /** Every held event, by id key. */
  private readonly events = new Map<string, KbEvent>()
  /** The live clauses: asserts held and not removed, by id key. */
  private readonly live = new Map<string, AssertEvent>()
  /** Every id a held retract names (tombstones), so that an assert arriving later stays removed. */
  private readonly removed = new Set<string>()
  /** Of the live ids, kept up to date with `live`. */
  private readonly liveDigest = new SetDigest()

  constructor (init: ReplicaInit = {}) {
    this.maxClockDriftMs = init.maxClockDriftMs ?? MAX_CLOCK_DRIFT_MS
    this.maxRetractIds = init.maxRetractIds ?? DEFAULT_EVENT_LIMITS.maxRetractIds
  }

  /** Live clauses. */
  get size (): number {
    return this.live.size
  }

  /** Held events, asserts and retracts. */
  get eventCount (): number {
    return this.events.size
  }

  /**
   * A digest of the live clause ids (set-digest.ts), in O(1): equal on two replicas that hold the
   * same clauses, different (but for 1 in 2^64) when they do not.
   */
  get digest (): string {
    return this.liveDigest.toString()
  }

  /**
   * Takes an event in: holds it and returns the changes to the live set it makes. `nowMs` is the
   * caller's clock; pass Infinity when replaying events this replica accepted before (a store).
   */
  apply (event: KbEvent, nowMs: number): ApplyResult {
    if (!Number.isSafeInteger(event.seq) || event.seq < 1) return refused('bad-seq')
    const log = this.logs.get(event.origin)
    const held = log?.get(event.seq)
    if (held !== undefined) return sameEvent(held, event) ? DUPLICATE : refused('seq-conflict')
    const key = idKey(event.id)
    if (this.events.has(key)) return refused('id-conflict')
    if (event.hlc.wall > nowMs + this.maxClockDriftMs) return refused('clock-ahead')
    if (event.kind === 'retract' && event.ids.length > this.maxRetractIds) return refused('too-many-ids')
    this.hold(event, key, log)
    const ops = event.kind === 'assert' ? this.add(event, key) : this.remove(event)
    return { status: 'applied', ops }
  }

  vector (): Vector {
    const vector = new Map<string, number>()
    for (const [origin, log] of this.sortedLogs()) {
      if (log.contiguous > 0) vector.set(origin, log.contiguous)
    }
    return vector
  }

  /**
   * The held events that `remote` lacks by its vector: per origin (in origin order) every event
   * above its n, ascending, including events held above a hole. A remote that holds some of
   * these above its own holes gets them again, which apply reports as duplicates.
   */
  missing (remote: Vector): KbEvent[] {
    const out: KbEvent[] = []
    for (const [origin, log] of this.sortedLogs()) log.eventsAfter(remote.get(origin) ?? 0, out)
    return out
  }

  /** The sequence numbers missing here below the highest held of each origin: lost gossip, to ask peers for. */
  gaps (): Gap[] {
    const gaps: Gap[] = []
    for (const [origin, log] of this.sortedLogs()) {
      for (const hole of log.holes()) gaps.push({ origin, ...hole })
    }
    return gaps
  }

  /** The seq for the next kb event of `origin`: for the local origin, whose events this replica sees first. */
  nextSeq (origin: string): number {
    return (this.logs.get(origin)?.highest ?? 0) + 1
  }

  /** The live clauses in the canonical order (docs/kb.md, "Order"). */
  clauses (): LiveClause[] {
    return [...this.live.values()].sort(canonicalOrder).map(({ id, clause, front }) => ({ id, clause, front }))
  }

  /** The live clauses' terms in no particular order: for counting, without clauses()' sort. */
  liveTerms (): Term[] {
    return Array.from(this.live.values(), event => event.clause)
  }

  /** Whether the clause with this id is live. */
  has (id: EventId): boolean {
    return this.live.has(idKey(id))
  }

  /** Whether this replica holds the event with this id, an assert (live or not) or a retract. */
  holds (id: EventId): boolean {
    return this.events.has(idKey(id))
  }

  private hold (event: KbEvent, key: string, log: OriginLog | undefined): void {
    if (log === undefined) {
      log = new OriginLog()
      this.logs.set(event.origin, log)
    }
    log.add(event)
    this.events.set(key, event)
  }

  private add (event: AssertEvent, key: string): KbOp[] {
    if (this.removed.has(key)) return [] // retracted before it arrived
    this.live.set(key, event)
    this.liveDigest.toggle(event.id)
    return [{ op: 'assert', id: event.id, clause: event.clause, front: event.front }]
  }

  private remove (event: RetractEvent): KbOp[] {
    const ops: KbOp[] = []
    for (const id of event.ids) {
      const key = idKey(id)
      this.removed.add(key)
      const clause = this.live.get(key)
      if (clause === undefined) continue
      this.live.delete(key)
      this.liveDigest.toggle(clause.id)
      ops.push({ op: 'retract', id: clause.id })
    }
    return ops
  }

  /** Origins in a fixed order, so that vectors, gaps and missing events do not depend on arrival order. */
  private sortedLogs (): Array<[string, OriginLog]> {
    return [...this.logs].sort(([a], [b]) => compareText(a, b))
  }
}

/**
 * asserta clauses first, newest first (each asserta goes in front of the ones before it); then
 * assertz clauses, oldest first; ties (equal hlc, only across origins) by origin, then id bytes.
 */
function canonicalOrder (a: AssertEvent, b: AssertEvent): number {
  if (a.front !== b.front) return a.front ? -1 : 1
  const byTime = a.front ? compareHlc(b.hlc, a.hlc) : compareHlc(a.hlc, b.hlc)
  return byTime || compareText(a.origin, b.origin) || compareBytes(a.id, b.id)
}

/** UTF-16 code unit order, the same in every JavaScript peer (unlike localeCompare). */
function compareText (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

function refused (reason: KbRefusal): ApplyResult {
  return { status: 'refused', reason }
}

/**
 * A map key for an id, faster to build and hash than hex (apply is the hot path): a 16-byte id
 * (every id the wire lets through) is 8 UTF-16 units of two bytes each, built by one call of
 * fixed arity (spreading the bytes into String.fromCharCode took most of apply's time). Any other
 * length is one unit per byte after nine marks, so that its key is never 8 units long.
 */
function idKey (id: EventId): string {
  if (id.length === 16) {
    return String.fromCharCode(
      id[0] << 8 | id[1], id[2] << 8 | id[3], id[4] << 8 | id[5], id[6] << 8 | id[7],
      id[8] << 8 | id[9], id[10] << 8 | id[11], id[12] << 8 | id[13], id[14] << 8 | id[15])
  }
  return OTHER_LENGTH + String.fromCharCode(...id)
}

const OTHER_LENGTH = '#'.repeat(9)
