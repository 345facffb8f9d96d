/**
 * The acceptance suite of an EventStore (automerge-repo's runStorageAdapterTests idea): every
 * backend runs it, Node on disk here, Chromium on IndexedDB in the browser tests. No `node:`
 * imports and no timed assertions; timings are printed for information only.
 */
import { describe, expect, it } from 'vitest'
import { atom, compound, newEventId, variable } from '../../core/wire/index.ts'
import type { EventStore } from '../../core/store/event-store.ts'
import type { AssertEvent, KbEvent } from '../../core/wire/index.ts'

export interface EventStoreFixture {
  /** A new, empty store. */
  store: EventStore
  /** Opens the same location again (after the test closed `store`). */
  reopen: () => Promise<EventStore>
  /** Closes whatever is still open and removes the location. */
  cleanup: () => Promise<void>
}

const ALICE = '12D3KooWAlice'
const BOB = '12D3KooWBob'

export function assertEvent (origin: string, seq: number, front = false): AssertEvent {
  return {
    kind: 'assert',
    id: newEventId(),
    hlc: { wall: 1_700_000_000_000 + seq, counter: seq % 3 },
    origin,
    seq,
    front,
    clause: compound(':-', compound('likes', variable(0), atom('prolog')), compound('person', variable(0), BigInt(seq)))
  }
}

/** An assert whose clause is an atom of 1 KiB. */
function kibEvent (origin: string, seq: number): KbEvent {
  return { ...assertEvent(origin, seq), clause: compound('blob', BigInt(seq), atom(`${seq}:`.padEnd(1_024, 'x'))) }
}

export function retractEvent (origin: string, seq: number, ids: Uint8Array[]): KbEvent {
  return { kind: 'retract', id: newEventId(), hlc: { wall: 1_700_000_000_000 + seq, counter: 0 }, origin, seq, ids }
}

export async function collect (events: AsyncIterable<KbEvent>): Promise<KbEvent[]> {
  const all: KbEvent[] = []
  for await (const event of events) all.push(event)
  return all
}

export function runEventStoreTests (setup: () => Promise<EventStoreFixture>, title: string): void {
  /** Runs a test body on a fresh fixture and always cleans up. */
  const withStore = (body: (fixture: EventStoreFixture) => Promise<void>) => async () => {
    const fixture = await setup()
    try {
      await body(fixture)
    } finally {
      await fixture.cleanup()
    }
  }

  describe(`EventStore acceptance: ${title}`, () => {
    it('returns every field of asserts and retracts as appended', withStore(async ({ store }) => {
      const first = assertEvent(ALICE, 1, true)
      const events = [first, assertEvent(ALICE, 2), retractEvent(ALICE, 3, [first.id, newEventId()])]
      await store.append(events)
      expect(await collect(store.all())).toEqual(events)
    }))

    it('reads in append order: call after call, each call in its order', withStore(async ({ store }) => {
      const seqs = [10, 2, 1, 100, 9, 256, 11]
      await store.append(seqs.map(seq => assertEvent(BOB, seq)))
      await store.append(seqs.map(seq => assertEvent(ALICE, seq)))
      const read = (await collect(store.all())).map(event => [event.origin, event.seq])
      expect(read).toEqual([...seqs.map(seq => [BOB, seq]), ...seqs.map(seq => [ALICE, seq])])
    }))

    it('keeps the first event of an origin+seq and skips later ones, within a call and across calls', withStore(async ({ store }) => {
      const kept = assertEvent(ALICE, 1)
      await store.append([kept, assertEvent(ALICE, 1, true)])
      await store.append([assertEvent(ALICE, 1), assertEvent(ALICE, 2)])
      const read = await collect(store.all())
      expect(read.map(event => event.seq)).toEqual([1, 2])
      expect(read[0]).toEqual(kept)
      expect(store.counters.skipped_duplicate).toBe(2)
    }))

    it('runs appends in call order when they are not awaited', withStore(async ({ store }) => {
      const first = assertEvent(ALICE, 1)
      await Promise.all([store.append([first]), store.append([assertEvent(ALICE, 1, true)])])
      expect(await collect(store.all())).toEqual([first])
    }))

    it('writes none of a call whose events cannot all be encoded', withStore(async ({ store }) => {
      const invalid = { ...assertEvent(ALICE, 2), seq: 0 } // seq numbering starts at 1
      await expect(store.append([assertEvent(ALICE, 1), invalid])).rejects.toHaveProperty('name', 'EventEncodingError')
      expect(await collect(store.all())).toEqual([])
    }))

    it('round-trips metadata and answers undefined for a key never written', withStore(async ({ store }) => {
      expect(await store.getMeta('next-seq')).toBeUndefined()
      await store.putMeta('next-seq', Uint8Array.of(0, 0, 1, 0))
      await store.putMeta('next-seq', Uint8Array.of(0, 0, 2, 0))
      expect(await store.getMeta('next-seq')).toEqual(Uint8Array.of(0, 0, 2, 0))
      expect(await collect(store.all())).toEqual([]) // metadata is not an event
    }))

    it('keeps events and metadata across close and reopen', withStore(async ({ store, reopen }) => {
      const events = [assertEvent(ALICE, 1), assertEvent(ALICE, 2), assertEvent(BOB, 1)]
      await store.append(events)
      await store.putMeta('next-seq', Uint8Array.of(3))
      await store.close()
      const reopened = await reopen()
      expect(await collect(reopened.all())).toEqual(events)
      expect(await reopened.getMeta('next-seq')).toEqual(Uint8Array.of(3))
      const later = assertEvent(ALICE, 3)
      await reopened.append([later])
      expect(await collect(reopened.all())).toEqual([...events, later]) // after, not over, what was there
    }))

    it('keeps appends written without fsync (sync: false) across close and reopen, in order with fsynced ones', withStore(async ({ store, reopen }) => {
      const remote = [assertEvent(BOB, 1), assertEvent(BOB, 2)]
      const own = [assertEvent(ALICE, 1)]
      await store.append(remote, { sync: false })
      await store.append(own)
      await store.close()
      expect(await collect((await reopen()).all())).toEqual([...remote, ...own])
    }))

    it('appends 10,000 events in batches of 500 and reads every one back', withStore(async ({ store }) => {
      const total = 10_000
      const events = Array.from({ length: total }, (_, i) => assertEvent(i % 2 === 0 ? ALICE : BOB, Math.floor(i / 2) + 1))
      const started = performance.now()
      for (let i = 0; i < total; i += 500) await store.append(events.slice(i, i + 500))
      const appended = performance.now()
      const read = await collect(store.all())
      console.log(`[${title}] append 10,000 events in batches of 500: ${Math.round(appended - started)} ms, all(): ${Math.round(performance.now() - appended)} ms`)
      expect(read.length).toBe(total)
      const byKey = new Map(events.map(event => [`${event.origin}/${event.seq}`, event]))
      for (const event of read) expect(event).toEqual(byKey.get(`${event.origin}/${event.seq}`))
    }))

    it('appends 5,000 events of 1 KiB terms in calls of 2,500, each call over the 1 MiB of one batch', withStore(async ({ store }) => {
      const events = Array.from({ length: 5_000 }, (_, i) => kibEvent(ALICE, i + 1))
      const started = performance.now()
      for (let i = 0; i < events.length; i += 2_500) await store.append(events.slice(i, i + 2_500))
      const appended = performance.now()
      const read = await collect(store.all())
      console.log(`[${title}] append 5,000 events of 1 KiB terms in calls of 2,500: ${Math.round(appended - started)} ms, all(): ${Math.round(performance.now() - appended)} ms`)
      expect(read).toEqual(events)
      expect(store.counters.appended).toBe(5_000)
    }))

    it('refuses an append whose signal is already aborted, and writes nothing', withStore(async ({ store }) => {
      const controller = new AbortController()
      controller.abort()
      await expect(store.append([assertEvent(ALICE, 1)], { signal: controller.signal })).rejects.toHaveProperty('name', 'AbortError')
      expect(await collect(store.all())).toEqual([])
    }))

    it('stops all() with AbortError when its signal is aborted part way', withStore(async ({ store }) => {
      await store.append(Array.from({ length: 2_500 }, (_, i) => assertEvent(ALICE, i + 1)))
      const controller = new AbortController()
      let seen = 0
      const reading = (async () => {
        for await (const _ of store.all({ signal: controller.signal })) {
          if (++seen === 10) controller.abort()
        }
      })()
      await expect(reading).rejects.toHaveProperty('name', 'AbortError')
      expect(seen).toBeLessThan(2_500)
    }))
  })
}
