/**
 * A seeded simulated network of replicas (after Yjs' TestConnector): peers make asserts, assertas
 * and retracts of what they see; gossip loses, duplicates, delays and reorders them; clocks are
 * skewed, sometimes past the allowed drift. Then `repair()` runs one round of
 * `missing(vector())` exchanges, after which every replica must hold the same state, and stay
 * there when the gossip still in flight arrives (`flush()`).
 *
 * Everything random comes from the seed, so a failing seed replays the same run.
 */
import { receive, tick, ZERO_HLC } from '../../core/kb/clock.ts'
import { Replica } from '../../core/kb/replica.ts'
import { eventIdHex } from '../../core/wire/event.ts'
import { NOW, fact, idOf } from './support.ts'
import type { ApplyResult, KbOp } from '../../core/kb/replica.ts'
import type { Hlc, KbEvent } from '../../core/wire/event.ts'
import type { Term } from '../../core/wire/term.ts'

export interface SimPeer {
  readonly origin: string
  readonly replica: Replica
  /** What an engine would hold: the peer's ops applied in order, by id (hex). */
  readonly materialised: Map<string, Term>
  /** This peer's clock error; a peer ahead by more than the drift has its events refused for a while. */
  readonly skewMs: number
  clock: Hlc
}

interface Message { readonly to: SimPeer, readonly event: KbEvent, readonly at: number }

const LOSS = 0.2
const DUPLICATION = 0.1
const MAX_DELAY_MS = 2_000

export class TestNetwork {
  readonly peers: SimPeer[]
  /** Every event made, for the reference model. */
  readonly made: KbEvent[] = []
  /** Results of deliveries, by status or refusal reason. */
  readonly outcomes = new Map<string, number>()
  private readonly random: () => number
  private inFlight: Message[] = []
  private now = NOW
  private nextId = 0

  constructor (readonly seed: number) {
    this.random = mulberry32(seed)
    const farAhead = this.random() < 0.2 // some runs have one peer's clock past the 60 s drift
    this.peers = Array.from({ length: 3 + this.int(3) }, (_, i) => ({
      origin: `peer-${i}`,
      replica: new Replica(),
      materialised: new Map(),
      skewMs: farAhead && i === 0 ? 90_000 : this.int(4_001) - 2_000,
      clock: ZERO_HLC
    }))
  }

  /** Runs random steps: local changes, deliveries, time passing. */
  run (steps: number): void {
    for (let i = 0; i < steps; i++) {
      const dice = this.random()
      const peer = this.peers[this.int(this.peers.length)]
      if (dice < 0.25) this.local(peer, { kind: 'assert', front: false })
      else if (dice < 0.35) this.local(peer, { kind: 'assert', front: true })
      else if (dice < 0.5) this.local(peer, { kind: 'retract' })
      else if (dice < 0.9) this.deliverRandom()
      else this.now += this.int(1_000)
    }
  }

  /** Lets time pass beyond every clock skew, then one round of missing(vector()) exchanges, every pair both ways. */
  repair (): void {
    this.now += 10 * 60_000
    for (const from of this.peers) {
      for (const to of this.peers) {
        if (from === to) continue
        for (const event of from.replica.missing(to.replica.vector())) this.receive(to, event)
      }
    }
  }

  /** Delivers every message still in flight, in random order: late gossip, duplicates by now. */
  flush (): void {
    while (this.inFlight.length > 0) {
      const [message] = this.inFlight.splice(this.int(this.inFlight.length), 1)
      this.receive(message.to, message.event)
    }
  }

  /** The clauses every replica must end with: the asserts made, minus every id a retract named. */
  expectedClauseIds (): string[] {
    const retracted = new Set(this.made.flatMap(e => e.kind === 'retract' ? e.ids.map(eventIdHex) : []))
    return this.made.filter(e => e.kind === 'assert' && !retracted.has(eventIdHex(e.id))).map(e => eventIdHex(e.id)).sort()
  }

  /** Each origin's count of events made. */
  expectedVector (): Map<string, number> {
    const vector = new Map<string, number>()
    for (const event of this.made) vector.set(event.origin, Math.max(vector.get(event.origin) ?? 0, event.seq))
    return new Map([...vector].sort(([a], [b]) => a < b ? -1 : 1))
  }

  private local (peer: SimPeer, change: { kind: 'assert', front: boolean } | { kind: 'retract' }): void {
    const ids = change.kind === 'retract' ? this.someLiveIds(peer) : []
    if (change.kind === 'retract' && ids.length === 0) return
    const peerNow = this.now + peer.skewMs
    peer.clock = tick(peer.clock, peerNow)
    const base = { id: idOf(this.nextId++), hlc: peer.clock, origin: peer.origin, seq: peer.replica.nextSeq(peer.origin) }
    const event: KbEvent = change.kind === 'assert'
      ? { kind: 'assert', ...base, front: change.front, clause: fact(this.int(5), peer.origin) }
      : { kind: 'retract', ...base, ids }
    this.made.push(event)
    this.record(peer, peer.replica.apply(event, peerNow))
    this.broadcast(peer, event)
  }

  /** One to three ids of clauses the peer sees, now and then one that never existed. */
  private someLiveIds (peer: SimPeer): Uint8Array[] {
    const live = peer.replica.clauses()
    if (live.length === 0) return []
    const ids = Array.from({ length: 1 + this.int(3) }, () => live[this.int(live.length)].id)
    if (this.random() < 0.1) ids.push(idOf(1_000_000 + this.int(1_000)))
    return ids
  }

  private broadcast (from: SimPeer, event: KbEvent): void {
    for (const to of this.peers) {
      if (to === from || this.random() < LOSS) continue
      const copies = this.random() < DUPLICATION ? 2 : 1
      for (let i = 0; i < copies; i++) this.inFlight.push({ to, event, at: this.now + this.int(MAX_DELAY_MS) })
    }
  }

  /** Delivers a random message that is due; when none is, time passes. */
  private deliverRandom (): void {
    const due = this.inFlight.filter(m => m.at <= this.now)
    if (due.length === 0) {
      this.now += this.int(500)
      return
    }
    const message = due[this.int(due.length)]
    this.inFlight.splice(this.inFlight.indexOf(message), 1)
    this.receive(message.to, message.event)
  }

  private receive (peer: SimPeer, event: KbEvent): void {
    const peerNow = this.now + peer.skewMs
    const result = peer.replica.apply(event, peerNow)
    if (result.status === 'applied') peer.clock = receive(peer.clock, event.hlc, peerNow)
    this.record(peer, result)
  }

  private record (peer: SimPeer, result: ApplyResult): void {
    const outcome = result.status === 'refused' ? result.reason : result.status
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1)
    if (result.status === 'applied') for (const op of result.ops) materialise(peer.materialised, op)
  }

  private int (below: number): number {
    return Math.floor(this.random() * below)
  }
}

function materialise (clauses: Map<string, Term>, op: KbOp): void {
  const key = eventIdHex(op.id)
  if (op.op === 'retract') {
    if (!clauses.delete(key)) throw new Error(`retract op for ${key}, which is not materialised`)
  } else {
    if (clauses.has(key)) throw new Error(`assert op for ${key}, which is materialised already`)
    clauses.set(key, op.clause)
  }
}

/** A small seeded PRNG (public domain), enough for a simulation. */
function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
