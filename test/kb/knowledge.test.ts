/**
 * core/knowledge.ts with its real parts: a LevelDB store in a temporary directory and the
 * swipl-wasm engine, wrapped only to watch (and hold back) their calls. Remote events go to the
 * engine and the store together; the next batch is stored while the engine applies the one before;
 * remote() resolves once stored (and applied too when the engine is too far behind), settled()
 * once both are done; a restart replays the store into the
 * engine with one engine call at a time in flight while the next chunk is read.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../../node/node20.ts'
import { createClock } from '../../core/kb/clock.ts'
import { Replica } from '../../core/kb/replica.ts'
import { createKnowledge } from '../../core/knowledge.ts'
import { openEventStore } from '../../core/store/event-store.ts'
import { newEventId } from '../../core/wire/event.ts'
import { atom, compound, isAtom, isCompound } from '../../core/wire/term.ts'
import { createNodeEngine } from '../../node-peer/engine-host.ts'
import { eventually } from '../support/processes.ts'
import type { Engine } from '../../core/engine/engine.ts'
import type { KnowledgeEngine } from '../../core/knowledge.ts'
import type { EventStore } from '../../core/store/event-store.ts'
import type { KbEvent } from '../../core/wire/event.ts'
import type { Term } from '../../core/wire/term.ts'

const ORIGIN = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
let dir: string
let engine: Engine

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'p2p-knowledge-'))
  engine = await createNodeEngine({ onOutput: () => {} })
})

afterAll(async () => {
  await engine.close()
  await rm(dir, { recursive: true, force: true })
})

/** Assert events of `seed(Seq, Name)`, seqs from..to of one origin. */
function seeds (name: string, from: number, to: number): KbEvent[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    kind: 'assert', id: newEventId(), hlc: { wall: Date.now(), counter: from + i }, origin: ORIGIN, seq: from + i, front: false, clause: compound('seed', BigInt(from + i), atom(name))
  }))
}

/** The name of `seed(N, Name)`. */
function nameOf (clause: Term): string {
  const name = isCompound(clause, 'seed', 2) ? clause.args[1] : clause
  return isAtom(name) ? name.atom : '?'
}

async function engineCount (name: string): Promise<bigint> {
  for await (const answer of engine.queryText(`aggregate_all(count, seed(_, ${name}), C)`, { sandbox: false })) {
    if (answer.status === 'success') return answer.bindings.C as bigint
  }
  throw new Error('no count')
}

async function storedCount (store: EventStore): Promise<number> {
  let n = 0
  for await (const _ of store.all()) n++
  return n
}

/** Resolvers by name, so that a test can hold a call back until it says so. */
function gates (): { wait: (name: string) => Promise<void>, open: (name: string) => void } {
  const opened = new Map<string, () => void>()
  const waiting = new Map<string, Promise<void>>()
  const gate = (name: string): Promise<void> => {
    let promise = waiting.get(name)
    if (promise === undefined) {
      promise = new Promise<void>(resolve => { opened.set(name, resolve) })
      waiting.set(name, promise)
    }
    return promise
  }
  return { wait: gate, open: name => { void gate(name); opened.get(name)?.() } }
}

describe('knowledge', () => {
  it('stores the next batch while the engine applies the one before; remote() resolves once stored, and also applied when the engine is too far behind', async () => {
    const store = await openEventStore(join(dir, 'pipeline'))
    const log: string[] = []
    const held = gates()
    const watched: EventStore = {
      append: async (events, options) => {
        const name = events[0]?.kind === 'assert' ? nameOf(events[0].clause) : 'none'
        log.push(`append ${name}`)
        await store.append(events, options)
        log.push(`stored ${name}`)
      },
      all: options => store.all(options),
      getMeta: async key => await store.getMeta(key),
      putMeta: async (key, value) => { await store.putMeta(key, value) },
      counters: store.counters,
      close: async () => { await store.close() }
    }
    const watchedEngine: KnowledgeEngine = {
      applyKb: async ops => {
        const name = ops[0]?.op === 'assert' ? nameOf(ops[0].clause) : 'none'
        log.push(`apply ${name}`)
        await held.wait(name)
        const result = await engine.applyKb(ops)
        log.push(`applied ${name}`)
        return result
      }
    }
    const knowledge = createKnowledge({ origin: 'me', clock: createClock(Date.now), replica: new Replica(), store: watched, engine: watchedEngine, maxEngineBacklog: 4_000 })
    await knowledge.start()
    // Stored, and 3,000 ops behind is within the bound: resolved while the engine holds them.
    await knowledge.remote(seeds('first', 1, 3_000))
    await eventually(() => log.includes('apply first'))
    expect(log).not.toContain('applied first')
    const second = knowledge.remote(seeds('second', 3_001, 6_000))
    let secondDone = false
    void second.then(() => { secondDone = true })
    // The second batch is stored while the engine still holds the first; 6,000 behind is over the
    // bound, so remote() waits for the engine.
    await eventually(() => log.includes('stored second'), { describe: () => log.join(', ') })
    expect(log).not.toContain('applied first')
    expect(knowledge.summary().clauses).toBe(6_000)
    held.open('first')
    await eventually(() => log.includes('applied first'))
    expect(await engineCount('first')).toBe(3_000n)
    expect(secondDone).toBe(false)
    held.open('second')
    await second
    await knowledge.settled()
    expect(await engineCount('second')).toBe(3_000n)
    expect(log).toStrictEqual(['append first', 'apply first', 'stored first', 'append second', 'stored second', 'applied first', 'apply second', 'applied second'])
    expect(await storedCount(store)).toBe(6_000)
    expect(knowledge.summary()).toMatchObject({ clauses: 6_000, events: 6_000 })
    await store.close()
  })

  it('waits in settled() for the engine too', async () => {
    const store = await openEventStore(join(dir, 'settled'))
    const held = gates()
    const knowledge = createKnowledge({
      origin: 'me',
      clock: createClock(Date.now),
      replica: new Replica(),
      store,
      engine: { applyKb: async ops => { await held.wait('apply'); return await engine.applyKb(ops) } }
    })
    await knowledge.start()
    void knowledge.remote(seeds('late', 1, 10))
    let settled = false
    const settling = knowledge.settled().then(() => { settled = true })
    await eventually(async () => await storedCount(store) === 10)
    expect(settled).toBe(false)
    held.open('apply')
    await settling
    expect(await engineCount('late')).toBe(10n)
    await store.close()
  })

  it('replays its store into the engine on start: one engine call of at most 10,000 ops in flight at a time', async () => {
    const location = join(dir, 'replay')
    const seeded = await openEventStore(location, { sync: false })
    await seeded.append(seeds('replayed', 1, 25_000))
    await seeded.close()
    const store = await openEventStore(location)
    const sizes: number[] = []
    let inFlight = 0
    let mostInFlight = 0
    const knowledge = createKnowledge({
      origin: 'me',
      clock: createClock(Date.now),
      replica: new Replica(),
      store,
      engine: {
        applyKb: async ops => {
          sizes.push(ops.length)
          mostInFlight = Math.max(mostInFlight, ++inFlight)
          try { return await engine.applyKb(ops) } finally { inFlight-- }
        }
      }
    })
    await knowledge.start()
    expect(sizes).toStrictEqual([10_000, 10_000, 5_000])
    expect(mostInFlight).toBe(1)
    expect(await engineCount('replayed')).toBe(25_000n)
    expect(knowledge.summary()).toMatchObject({ clauses: 25_000, events: 25_000 })
    expect(knowledge.counters.replayed_events).toBe(25_000)
    await store.close()
  })
})
