/**
 * Builders of kb events and a generator of random event sets for the replica tests.
 */
import fc from 'fast-check'
import { eventIdHex } from '../../core/wire/event.ts'
import { atom, compound, int } from '../../core/wire/term.ts'
import type { Replica } from '../../core/kb/replica.ts'
import type { AssertEvent, EventId, Hlc, KbEvent, RetractEvent } from '../../core/wire/event.ts'
import type { Term } from '../../core/wire/term.ts'

/** The tests' "now": 2024-11-23, the wire examples' date. */
export const NOW = 1_732_380_000_000

/** A distinct, readable id for each n: ff 00 .. 00 followed by n as 32 bits. */
export function idOf (n: number): EventId {
  const id = new Uint8Array(16)
  id[0] = 0xff
  new DataView(id.buffer).setUint32(12, n)
  return id
}

interface EventFields { origin: string, seq: number, id: EventId, hlc?: Hlc }

export function assertEvent (fields: EventFields & { clause: Term, front?: boolean }): AssertEvent {
  const { origin, seq, id, clause } = fields
  return { kind: 'assert', id, hlc: fields.hlc ?? { wall: NOW, counter: seq }, origin, seq, front: fields.front ?? false, clause }
}

export function retractEvent (fields: EventFields & { ids: readonly EventId[] }): RetractEvent {
  const { origin, seq, id, ids } = fields
  return { kind: 'retract', id, hlc: fields.hlc ?? { wall: NOW, counter: seq }, origin, seq, ids }
}

export function fact (n: number, by = 'test'): Term {
  return compound('fact', int(n), atom(by))
}

/** What two converged replicas agree on, as plain data that `toEqual` compares. */
export function snapshot (replica: Replica): unknown {
  return {
    clauses: replica.clauses().map(({ id, clause, front }) => [eventIdHex(id), clause, front]),
    vector: [...replica.vector()],
    gaps: replica.gaps(),
    size: replica.size,
    eventCount: replica.eventCount
  }
}

/** Applies events, failing on anything but applied or duplicate. */
export function applyAll (replica: Replica, events: readonly KbEvent[], nowMs = NOW): void {
  for (const event of events) {
    const result = replica.apply(event, nowMs)
    if (result.status === 'refused') throw new Error(`refused ${result.reason}: ${eventIdHex(event.id)}`)
  }
}

const ORIGINS = ['peer-a', 'peer-b', 'peer-c', 'peer-d']

const actionArbitrary = fc.record({
  origin: fc.nat(ORIGINS.length - 1),
  kind: fc.constantFrom('assertz', 'asserta', 'retract'),
  value: fc.nat(4), // few values, so that equal clauses of different ids occur
  targets: fc.array(fc.nat(40), { minLength: 1, maxLength: 3 }),
  unknown: fc.boolean(), // a retract of an id that never existed
  wall: fc.nat(50) // few clock values, so that equal hlcs across origins occur
})

/**
 * Random sets of kb events from up to four origins, each origin's seqs 1..k: asserts (front or
 * not) and retracts naming earlier asserts of any origin, or unknown ids.
 */
export const kbEventsArbitrary: fc.Arbitrary<KbEvent[]> = fc.array(actionArbitrary, { maxLength: 60 }).map(actions => {
  const seqs = ORIGINS.map(() => 0)
  const asserted: EventId[] = []
  return actions.map((action, i): KbEvent => {
    const origin = ORIGINS[action.origin]
    const fields = { origin, seq: ++seqs[action.origin], id: idOf(i), hlc: { wall: NOW + action.wall, counter: 0 } }
    if (action.kind !== 'retract') {
      asserted.push(fields.id)
      return assertEvent({ ...fields, clause: fact(action.value), front: action.kind === 'asserta' })
    }
    const ids = action.targets.map(t => action.unknown || asserted.length === 0 ? idOf(100_000 + t) : asserted[t % asserted.length])
    return retractEvent({ ...fields, ids })
  })
})
