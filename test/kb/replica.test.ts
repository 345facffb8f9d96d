/**
 * The replica's CRDT laws and its semantics (docs/kb.md), on frozen inputs and random event sets.
 */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Replica } from '../../core/kb/replica.ts'
import { SetDigest } from '../../core/kb/set-digest.ts'
import { eventIdHex, newEventId } from '../../core/wire/event.ts'
import { atom, compound } from '../../core/wire/term.ts'
import { NOW, applyAll, assertEvent, fact, idOf, kbEventsArbitrary, retractEvent, snapshot } from './support.ts'
import type { AssertEvent, KbEvent } from '../../core/wire/event.ts'

const replicaOf = (events: readonly KbEvent[]): Replica => {
  const replica = new Replica()
  applyAll(replica, events)
  return replica
}

/** An event set with two orders of it. */
const permutations = kbEventsArbitrary.chain(events => fc.tuple(
  fc.shuffledSubarray(events, { minLength: events.length }),
  fc.shuffledSubarray(events, { minLength: events.length })
))

describe('replica laws', () => {
  it('apply is idempotent', () => {
    fc.assert(fc.property(kbEventsArbitrary, fc.nat(), (events, at) => {
      const once = replicaOf(events)
      const twice = replicaOf(events)
      for (const event of events) expect(twice.apply(event, NOW)).toEqual({ status: 'duplicate' })
      expect(snapshot(twice)).toEqual(snapshot(once))
      // Duplicates interleaved with new events change nothing either.
      const interleaved = new Replica()
      for (const [i, event] of events.entries()) {
        interleaved.apply(event, NOW)
        if (i > 0) interleaved.apply(events[at % i], NOW)
      }
      expect(snapshot(interleaved)).toEqual(snapshot(once))
    }), { numRuns: 300 })
  })

  it('apply commutes', () => {
    fc.assert(fc.property(permutations, ([one, other]) => {
      expect(snapshot(replicaOf(other))).toEqual(snapshot(replicaOf(one)))
    }), { numRuns: 500 })
  })

  it('apply commutes for subsets too, gaps included', () => {
    const subsets = kbEventsArbitrary.chain(events => fc.tuple(fc.subarray(events), fc.nat()))
    fc.assert(fc.property(subsets, ([events, rotation]) => {
      const rotated = events.map((_, i) => events[(i + rotation) % events.length])
      expect(snapshot(replicaOf(rotated))).toEqual(snapshot(replicaOf(events)))
    }), { numRuns: 300 })
  })

  it('the live set is the asserts minus every id a retract names (add-wins OR-set)', () => {
    fc.assert(fc.property(kbEventsArbitrary, events => {
      const retracted = new Set(events.flatMap(e => e.kind === 'retract' ? e.ids.map(eventIdHex) : []))
      const expected = events.filter(e => e.kind === 'assert' && !retracted.has(eventIdHex(e.id))).map(e => eventIdHex(e.id))
      expect(replicaOf(events).clauses().map(c => eventIdHex(c.id)).sort()).toEqual(expected.sort())
    }), { numRuns: 300 })
  })

  it('ops replay the changes of the live set exactly', () => {
    fc.assert(fc.property(permutations, ([events]) => {
      const replica = new Replica()
      const materialised = new Map<string, unknown>()
      for (const event of events) {
        const result = replica.apply(event, NOW)
        if (result.status !== 'applied') continue
        for (const op of result.ops) {
          const key = eventIdHex(op.id)
          if (op.op === 'assert') {
            expect(materialised.has(key)).toBe(false)
            materialised.set(key, op.clause)
          } else {
            expect(materialised.delete(key)).toBe(true)
          }
        }
      }
      expect(new Map(replica.clauses().map(c => [eventIdHex(c.id), c.clause]))).toEqual(materialised)
    }), { numRuns: 300 })
  })
})

describe('the digest of the live clause ids', () => {
  const fresh = (seq: number): AssertEvent => assertEvent({ origin: 'digest', seq, id: newEventId(), clause: fact(seq) })

  it('is the same for the same live set, whatever the order, and differs for another one', () => {
    fc.assert(fc.property(permutations, ([one, other]) => {
      const a = replicaOf(one)
      expect(replicaOf(other).digest).toBe(a.digest)
      // One more clause, or one less, changes it.
      expect(replicaOf([...one, fresh(1)]).digest).not.toBe(a.digest)
      const live = a.clauses()
      if (live.length > 0) {
        const shrunk = replicaOf([...one, retractEvent({ origin: 'digest', seq: 1, id: newEventId(), ids: [live[0].id] })])
        expect(shrunk.digest).not.toBe(a.digest)
      }
    }), { numRuns: 300 })
  })

  it('comes back to what it was when a clause comes and goes; the empty set has one digest', () => {
    const replica = new Replica()
    const empty = replica.digest
    expect(empty).toMatch(/^[0-9a-f]{16}$/)
    const [first, second] = [fresh(1), fresh(2)]
    replica.apply(first, NOW)
    expect(replica.digest).not.toBe(empty)
    replica.apply(second, NOW)
    replica.apply(retractEvent({ origin: 'digest', seq: 3, id: newEventId(), ids: [first.id, first.id] }), NOW)
    expect(replica.digest).toBe(replicaOf([second]).digest)
    replica.apply(retractEvent({ origin: 'digest', seq: 4, id: newEventId(), ids: [second.id] }), NOW)
    expect(replica.digest).toBe(empty)
  })

  it('tells apart the sets of one id each of 100,000 ids that differ in a few bits', () => {
    const digests = new Set(Array.from({ length: 100_000 }, (_, n) => {
      const digest = new SetDigest()
      digest.toggle(idOf(n))
      return digest.toString()
    }))
    expect(digests.size).toBe(100_000)
  })
})

describe('replica semantics', () => {
  it('concurrent assert survives retract', () => {
    const seen = assertEvent({ origin: 'a', seq: 1, id: idOf(1), clause: fact(1) })
    const retract = retractEvent({ origin: 'b', seq: 1, id: idOf(2), ids: [seen.id] })
    const concurrent = assertEvent({ origin: 'c', seq: 1, id: idOf(3), clause: fact(1) }) // the same clause, not seen by b
    for (const order of [[seen, retract, concurrent], [concurrent, seen, retract], [retract, concurrent, seen]]) {
      const replica = replicaOf(order)
      expect(replica.clauses().map(c => eventIdHex(c.id))).toEqual([eventIdHex(concurrent.id)])
      expect(replica.has(seen.id)).toBe(false)
    }
  })

  it('retract before its assert leaves the clause removed', () => {
    const replica = new Replica()
    const assert = assertEvent({ origin: 'a', seq: 1, id: idOf(1), clause: fact(1) })
    expect(replica.apply(retractEvent({ origin: 'b', seq: 1, id: idOf(2), ids: [assert.id] }), NOW)).toEqual({ status: 'applied', ops: [] })
    expect(replica.apply(assert, NOW)).toEqual({ status: 'applied', ops: [] })
    expect(replica.has(assert.id)).toBe(false)
    expect([replica.size, replica.eventCount]).toEqual([0, 2])
  })

  it('emits one retract op per live id named, none for unknown or repeated ids', () => {
    const replica = new Replica()
    const a = assertEvent({ origin: 'a', seq: 1, id: idOf(1), clause: fact(1) })
    expect(replica.apply(a, NOW)).toEqual({ status: 'applied', ops: [{ op: 'assert', id: a.id, clause: a.clause, front: false }] })
    const retract = retractEvent({ origin: 'a', seq: 2, id: idOf(2), ids: [idOf(9), a.id, a.id] })
    expect(replica.apply(retract, NOW)).toEqual({ status: 'applied', ops: [{ op: 'retract', id: a.id }] })
    expect(replica.apply(retractEvent({ origin: 'b', seq: 1, id: idOf(3), ids: [a.id] }), NOW)).toEqual({ status: 'applied', ops: [] })
  })

  it('duplicates and seq conflicts', () => {
    const replica = new Replica()
    const first = assertEvent({ origin: 'a', seq: 1, id: idOf(1), clause: fact(1) })
    replica.apply(first, NOW)
    const copy = structuredClone(first)
    expect(replica.apply(copy, NOW)).toEqual({ status: 'duplicate' })
    const refusedAs = (reason: string): unknown => ({ status: 'refused', reason })
    expect(replica.apply({ ...first, id: idOf(2) }, NOW)).toEqual(refusedAs('seq-conflict'))
    expect(replica.apply({ ...first, clause: fact(2) }, NOW)).toEqual(refusedAs('seq-conflict'))
    expect(replica.apply({ ...first, front: true }, NOW)).toEqual(refusedAs('seq-conflict'))
    expect(replica.apply({ ...first, hlc: { wall: NOW, counter: 9 } }, NOW)).toEqual(refusedAs('seq-conflict'))
    expect(replica.apply(retractEvent({ origin: 'a', seq: 1, id: idOf(1), ids: [idOf(1)] }), NOW)).toEqual(refusedAs('seq-conflict'))
    // The same id under another (origin, seq): a different event, refused, or replicas would hold different ones.
    expect(replica.apply({ ...first, seq: 2 }, NOW)).toEqual(refusedAs('id-conflict'))
    expect(replica.apply({ ...first, origin: 'b' }, NOW)).toEqual(refusedAs('id-conflict'))
    expect(replica.clauses()).toEqual([{ id: first.id, clause: first.clause, front: false }]) // the first wins
    expect([replica.eventCount, replica.nextSeq('a'), replica.nextSeq('b')]).toEqual([1, 2, 1])
  })

  it('tells -0.0 from 0.0 and finds NaN equal to NaN, as the wire does', () => {
    const replica = new Replica()
    const event = assertEvent({ origin: 'a', seq: 1, id: idOf(1), clause: compound('f', 0, NaN) })
    replica.apply(event, NOW)
    expect(replica.apply({ ...event, clause: compound('f', 0, NaN) }, NOW).status).toBe('duplicate')
    expect(replica.apply({ ...event, clause: compound('f', -0, NaN) }, NOW)).toEqual({ status: 'refused', reason: 'seq-conflict' })
  })

  it('refuses a seq that is not a positive safe integer', () => {
    for (const seq of [0, -1, 1.5, NaN, 2 ** 53]) {
      expect(new Replica().apply(assertEvent({ origin: 'a', seq, id: idOf(1), clause: fact(1) }), NOW))
        .toEqual({ status: 'refused', reason: 'bad-seq' })
    }
  })

  it('clock far ahead refused', () => {
    const replica = new Replica({ maxClockDriftMs: 1_000 })
    const event = (seq: number, wall: number): KbEvent => assertEvent({ origin: 'a', seq, id: idOf(seq), clause: fact(seq), hlc: { wall, counter: 0 } })
    expect(replica.apply(event(1, NOW + 1_000), NOW).status).toBe('applied')
    expect(replica.apply(event(2, NOW + 1_001), NOW)).toEqual({ status: 'refused', reason: 'clock-ahead' })
    expect([replica.eventCount, replica.nextSeq('a')]).toEqual([1, 2]) // not held
    expect(replica.apply(event(2, NOW + 1_001), NOW + 1).status).toBe('applied') // sent again later: taken
    expect(new Replica().apply(event(1, NOW + 60_001), NOW).status).toBe('refused') // the default drift, 60 s
    expect(new Replica().apply(event(1, NOW + 60_000), NOW).status).toBe('applied')
    expect(new Replica().apply(event(1, NOW + 10 ** 9), Infinity).status).toBe('applied') // replaying a store
  })

  it('gaps are reported and filled', () => {
    const replica = new Replica()
    const event = (origin: string, seq: number): KbEvent => assertEvent({ origin, seq, id: idOf(seq * 10 + origin.length), clause: fact(seq) })
    applyAll(replica, [event('a', 1), event('a', 4), event('a', 7), event('bb', 3)])
    expect(replica.vector()).toEqual(new Map([['a', 1]]))
    expect(replica.gaps()).toEqual([
      { origin: 'a', from: 2, to: 3 }, { origin: 'a', from: 5, to: 6 }, { origin: 'bb', from: 1, to: 2 }
    ])
    expect([replica.nextSeq('a'), replica.nextSeq('bb'), replica.nextSeq('new')]).toEqual([8, 4, 1])
    applyAll(replica, [event('a', 3), event('a', 2), event('bb', 1)])
    expect(replica.vector()).toEqual(new Map([['a', 4], ['bb', 1]]))
    expect(replica.gaps()).toEqual([{ origin: 'a', from: 5, to: 6 }, { origin: 'bb', from: 2, to: 2 }])
    applyAll(replica, [event('a', 6), event('a', 5), event('bb', 2)])
    expect(replica.vector()).toEqual(new Map([['a', 7], ['bb', 3]]))
    expect(replica.gaps()).toEqual([])
  })

  it('missing() brings a replica up to date', () => {
    const split = kbEventsArbitrary.chain(events => fc.tuple(fc.constant(events), fc.subarray(events), fc.subarray(events)))
    fc.assert(fc.property(split, ([all, mine, theirs]) => {
      const full = replicaOf(all)
      const local = replicaOf(mine)
      const remote = replicaOf(theirs)
      const sent = local.missing(remote.vector())
      const remoteVector = remote.vector()
      for (const event of sent) expect(event.seq).toBeGreaterThan(remoteVector.get(event.origin) ?? 0)
      const order = sent.map(e => [e.origin, e.seq] as const)
      expect(order).toEqual([...order].sort(([o1, s1], [o2, s2]) => o1 < o2 ? -1 : o1 > o2 ? 1 : s1 - s2))
      applyAll(remote, sent)
      applyAll(remote, full.missing(remote.vector()))
      expect(snapshot(remote)).toEqual(snapshot(full))
      expect(full.missing(full.vector())).toEqual([])
    }), { numRuns: 300 })
  })

  it('orders clauses canonically: asserta newest first, then assertz oldest first, ties by origin then id', () => {
    const at = (wall: number): { wall: number, counter: number } => ({ wall: NOW + wall, counter: 0 })
    const events = [
      assertEvent({ origin: 'b', seq: 1, id: idOf(1), clause: atom('z1'), hlc: at(1) }),
      assertEvent({ origin: 'a', seq: 1, id: idOf(2), clause: atom('a1'), hlc: at(1), front: true }),
      assertEvent({ origin: 'a', seq: 2, id: idOf(3), clause: atom('a2'), hlc: at(2), front: true }),
      assertEvent({ origin: 'a', seq: 3, id: idOf(4), clause: atom('z1-tie'), hlc: at(1) }),
      assertEvent({ origin: 'b', seq: 2, id: idOf(5), clause: atom('a2-tie'), hlc: at(2), front: true }),
      assertEvent({ origin: 'b', seq: 3, id: idOf(6), clause: atom('z0'), hlc: at(0) })
    ]
    const names = replicaOf(events).clauses().map(c => (c.clause as { atom: string }).atom)
    expect(names).toEqual(['a2', 'a2-tie', 'a1', 'z0', 'z1-tie', 'z1'])
  })
})

describe('docs/kb.md', () => {
  it('runs its example as documented (the same code as in the doc and in replica.ts)', () => {
    const origin = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
    const replica = new Replica()
    const likes: AssertEvent = {
      kind: 'assert', id: newEventId(), hlc: { wall: Date.now(), counter: 0 }, origin,
      seq: replica.nextSeq(origin), front: false, clause: compound('likes', atom('ann'), atom('tea'))
    }
    expect(replica.apply(likes, Date.now())).toEqual({ status: 'applied', ops: [{ op: 'assert', id: likes.id, clause: likes.clause, front: false }] })
    expect(replica.apply(likes, Date.now())).toEqual({ status: 'duplicate' })
    expect(replica.missing(new Map())).toEqual([likes])
    expect(readFileSync(new URL('../../docs/kb.md', import.meta.url), 'utf8')).toContain(
      "seq: replica.nextSeq(origin), front: false, clause: compound('likes', atom('ann'), atom('tea'))")
  })
})
