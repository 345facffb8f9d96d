/**
 * What a hostile or broken peer can send a replica, and how big the replica's work gets.
 */
import { describe, expect, it } from 'vitest'
import { Replica } from '../../core/kb/replica.ts'
import { DEFAULT_EVENT_LIMITS } from '../../core/wire/limits.ts'
import { atom, compound } from '../../core/wire/term.ts'
import { NOW, assertEvent, fact, idOf, retractEvent, snapshot } from './support.ts'
import type { KbEvent } from '../../core/wire/event.ts'

describe('hostile input', () => {
  it('a retract of 4,096 unknown ids is held, changes no clause, and more ids are refused', () => {
    const replica = new Replica()
    const live = assertEvent({ origin: 'a', seq: 1, id: idOf(0), clause: fact(0) })
    replica.apply(live, NOW)
    const unknown = Array.from({ length: DEFAULT_EVENT_LIMITS.maxRetractIds }, (_, i) => idOf(1_000 + i))
    expect(replica.apply(retractEvent({ origin: 'x', seq: 1, id: idOf(1), ids: unknown }), NOW)).toEqual({ status: 'applied', ops: [] })
    expect(replica.has(live.id)).toBe(true)
    const tooMany = retractEvent({ origin: 'x', seq: 2, id: idOf(2), ids: [...unknown, live.id] })
    expect(replica.apply(tooMany, NOW)).toEqual({ status: 'refused', reason: 'too-many-ids' })
    expect(new Replica({ maxRetractIds: 2 }).apply(retractEvent({ origin: 'x', seq: 1, id: idOf(1), ids: unknown.slice(0, 3) }), NOW))
      .toEqual({ status: 'refused', reason: 'too-many-ids' })
    expect([replica.size, replica.eventCount]).toEqual([1, 2])
  })

  it('the same event 1,000 times is applied once', () => {
    const replica = new Replica()
    const event = assertEvent({ origin: 'a', seq: 1, id: idOf(1), clause: fact(1) })
    const statuses = Array.from({ length: 1_000 }, () => replica.apply(structuredClone(event), NOW).status)
    expect(statuses.filter(s => s === 'applied')).toHaveLength(1)
    expect(statuses.filter(s => s === 'duplicate')).toHaveLength(999)
    expect([replica.size, replica.eventCount, replica.nextSeq('a')]).toEqual([1, 1, 2])
  })

  it('holds an assert of (p :- shell(ls)): refusing to run it is the engine\'s job, when it materialises the clause', () => {
    const replica = new Replica()
    const clause = compound(':-', atom('p'), compound('shell', atom('ls')))
    const event = assertEvent({ origin: 'a', seq: 1, id: idOf(1), clause })
    // Every replica holds and forwards it, so all hold the same events; each engine's sandbox refuses it alike.
    expect(replica.apply(event, NOW)).toEqual({ status: 'applied', ops: [{ op: 'assert', id: event.id, clause, front: false }] })
    expect(replica.missing(new Map())).toEqual([event])
  })

  it('refuses an hlc of the year 3000, and holds nothing of it', () => {
    const replica = new Replica()
    const year3000 = Date.UTC(3000, 0, 1)
    const before = snapshot(replica)
    const event = assertEvent({ origin: 'a', seq: 1, id: idOf(1), clause: fact(1), hlc: { wall: year3000, counter: 0 } })
    expect(replica.apply(event, NOW)).toEqual({ status: 'refused', reason: 'clock-ahead' })
    expect(replica.apply(retractEvent({ ...event, ids: [idOf(5)] }), NOW)).toEqual({ status: 'refused', reason: 'clock-ahead' })
    expect(snapshot(replica)).toEqual(before)
    expect(replica.nextSeq('a')).toBe(1)
  })

  it('a seq far above the rest is a gap that only its origin can fill', () => {
    const replica = new Replica()
    replica.apply(assertEvent({ origin: 'a', seq: Number.MAX_SAFE_INTEGER, id: idOf(1), clause: fact(1) }), NOW)
    expect(replica.gaps()).toEqual([{ origin: 'a', from: 1, to: Number.MAX_SAFE_INTEGER - 1 }])
    expect(replica.vector()).toEqual(new Map())
    expect(replica.size).toBe(1)
  })
})

describe('sizes (informational: timings are logged, never asserted)', () => {
  const COUNT = 100_000
  const asserts = (origin: string, count: number): KbEvent[] =>
    Array.from({ length: count }, (_, i) => assertEvent({ origin, seq: i + 1, id: idOf(i), clause: fact(i), front: i % 10 === 0 }))

  it('applies 100,000 asserts and sends a 100,000-event gap with missing()', () => {
    const events = asserts('a', COUNT)
    const replica = new Replica()
    const applyMs = time(() => { for (const event of events) replica.apply(event, NOW) })
    const behind = new Replica()
    let missing: KbEvent[] = []
    const missingMs = time(() => { missing = replica.missing(behind.vector()) })
    const catchUpMs = time(() => { for (const event of missing) behind.apply(event, NOW) })
    const clausesMs = time(() => replica.clauses())
    const duplicatesMs = time(() => { for (const event of events) replica.apply(event, NOW) })
    console.log(`kb replica, ${COUNT.toLocaleString('en-US')} asserts: apply ${applyMs} ms, missing() ${missingMs} ms, ` +
      `apply of what missing() returned ${catchUpMs} ms, clauses() ${clausesMs} ms, apply of ${COUNT.toLocaleString('en-US')} duplicates ${duplicatesMs} ms`)
    expect(missing).toHaveLength(COUNT)
    expect(behind.size).toBe(COUNT)
  })
})

function time (work: () => unknown): number {
  const start = performance.now()
  work()
  return Math.round(performance.now() - start)
}
