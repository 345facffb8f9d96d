/**
 * The event store on disk (classic-level through `level`): the acceptance suite, then what only
 * a disk has: a process killed while it writes, torn and damaged files, a second opener.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { appendFile, mkdtemp, open, readdir, rm, stat, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { describe, expect, it } from 'vitest'
import { eventKey, openEventStore } from '../../core/store/event-store.ts'
import { atom, encodeBatch, encodeEvent, newEventId } from '../../core/wire/index.ts'
import { Proc, ROOT } from '../support/processes.ts'
import { assertEvent, collect, runEventStoreTests } from './event-store-suite.ts'
import type { EventStore } from '../../core/store/event-store.ts'
import type { WireEvent } from '../../core/wire/index.ts'

const ORIGIN = '12D3KooWDisk'

/** A fresh store in a temporary directory; `cleanup` closes every store it opened and removes it. */
async function onDisk (): Promise<{ location: string, store: EventStore, reopen: () => Promise<EventStore>, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'event-store-'))
  const location = join(dir, 'events')
  const opened: EventStore[] = []
  const reopen = async (): Promise<EventStore> => {
    const store = await openEventStore(location)
    opened.push(store)
    return store
  }
  const store = await reopen()
  const cleanup = async (): Promise<void> => {
    for (const each of opened) await each.close()
    await rm(dir, { recursive: true, force: true })
  }
  return { location, store, reopen, cleanup }
}

runEventStoreTests(onDisk, 'classic-level on disk')

/** Appends seq 1..count of ORIGIN in batches: each batch is one LevelDB write, one log record. */
async function appendSeqs (store: EventStore, count: number, batch: number): Promise<void> {
  for (let from = 1; from <= count; from += batch) {
    await store.append(Array.from({ length: Math.min(batch, count - from + 1) }, (_, i) => assertEvent(ORIGIN, from + i)))
  }
}

async function seqs (store: EventStore): Promise<number[]> {
  return (await collect(store.all())).map(event => event.seq)
}

function oneTo (n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1)
}

/** The database under a store, to plant records the store would not write. */
function rawLevel (location: string): Level<Uint8Array, Uint8Array> {
  return new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' })
}

/** The newest file of LevelDB's own that matches `pattern` (numbered files: 000005.log, 000007.ldb). */
async function newest (location: string, pattern: RegExp): Promise<string> {
  const names = (await readdir(location)).filter(name => pattern.test(name)).sort()
  if (names.length === 0) throw new Error(`no file matching ${String(pattern)} in ${location}`)
  return join(location, names[names.length - 1])
}

async function overwrite (file: string, at: number, bytes: Uint8Array): Promise<void> {
  const handle = await open(file, 'r+')
  try {
    await handle.write(bytes, 0, bytes.length, at)
  } finally {
    await handle.close()
  }
}

describe('EventStore on disk: crashes and damage', () => {
  it('has every acknowledged event after the writing process is killed with SIGKILL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'event-store-'))
    const location = join(dir, 'events')
    try {
      const batch = 50
      const killAfter = batch * (5 + Math.floor(Math.random() * 86)) // a random moment, batch 5 to 90 of 100
      console.log(`SIGKILL soon after seq ${killAfter} is acknowledged`)
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/append-events.ts'), location, ORIGIN, '5000', String(batch)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      const writer = new Proc('append-events', child)
      const closed = once(child, 'close') // after 'exit', once stdout is drained too
      await writer.waitFor(new RegExp(`^acked ${killAfter}$`), { timeout: 60_000 })
      await new Promise(resolve => setTimeout(resolve, Math.random() * 20)) // anywhere in the next batches
      child.kill('SIGKILL')
      await closed
      const acked = Math.max(...writer.lines.map(line => /^acked (\d+)$/.exec(line)).filter(match => match !== null).map(match => Number(match[1])))

      const store = await openEventStore(location)
      const held = await seqs(store)
      await store.close()
      console.log(`killed after acknowledging ${acked} events; the store holds ${held.length}`)
      expect(held.slice(0, acked)).toEqual(oneTo(acked))
      // At most the batch in flight is there beyond that, and whole: a batch is one atomic write.
      expect([acked, acked + batch]).toContain(held.length)
      expect(held).toEqual(oneTo(held.length))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('opens after the newest log lost its last bytes, missing only the torn last batch', async () => {
    const { location, store, reopen, cleanup } = await onDisk()
    try {
      await appendSeqs(store, 500, 50)
      await store.close()
      const log = await newest(location, /^\d+\.log$/)
      await truncate(log, (await stat(log)).size - 100)
      const reopened = await reopen()
      // LevelDB itself drops an incomplete last log record when it replays the log: no repair.
      expect(await seqs(reopened)).toEqual(oneTo(450))
      expect(reopened.counters.repaired).toBe(0)
    } finally {
      await cleanup()
    }
  })

  it('opens with every event after garbage was appended to the newest log', async () => {
    const { location, store, reopen, cleanup } = await onDisk()
    try {
      await appendSeqs(store, 500, 50)
      await store.close()
      await appendFile(await newest(location, /^\d+\.log$/), new Uint8Array(300).fill(0xab))
      const reopened = await reopen()
      expect(await seqs(reopened)).toEqual(oneTo(500))
      expect(reopened.counters.repaired).toBe(0)
    } finally {
      await cleanup()
    }
  })

  it('repairs itself, and counts it, when the MANIFEST lost its last bytes', async () => {
    const { location, store, reopen, cleanup } = await onDisk()
    try {
      await appendSeqs(store, 250, 50)
      await store.close()
      const second = await reopen() // replays the log into a table: events in a table and in a log
      await second.append(oneTo(250).map(seq => assertEvent(ORIGIN, 250 + seq)))
      await second.close()
      const manifest = await newest(location, /^MANIFEST-\d+$/)
      await truncate(manifest, (await stat(manifest)).size - 3)
      const repaired = await reopen() // LevelDB refuses this with LEVEL_CORRUPTION; the store runs RepairDB
      expect(repaired.counters.repaired).toBe(1)
      expect(await seqs(repaired)).toEqual(oneTo(500))
    } finally {
      await cleanup()
    }
  })

  it('repairs a table with a damaged block when it opens, keeping every other block', async () => {
    const { location, store, reopen, cleanup } = await onDisk()
    try {
      await appendSeqs(store, 500, 50)
      await store.close()
      await (await reopen()).close() // the log becomes a table file
      const table = await newest(location, /^\d+\.ldb$/)
      await overwrite(table, Math.floor((await stat(table)).size / 2), new Uint8Array(50).fill(0x5a))
      const repaired = await reopen()
      expect(repaired.counters.repaired).toBe(1)
      const held = await seqs(repaired)
      // An append of 50 of these events is one record of about 6 KiB, over LevelDB's 4 KiB block
      // size, so a block holds one record: the damage loses one or two whole appends, not part of one.
      expect([400, 450]).toContain(held.length)
      expect(new Set(held.map(seq => Math.ceil(seq / 50))).size).toBe(held.length / 50)
      expect(new Set(held).size).toBe(held.length)
    } finally {
      await cleanup()
    }
  })

  it('refuses a table cut short with a StoreError that says what to do, not a crash', async () => {
    const { location, store, reopen, cleanup } = await onDisk()
    try {
      await appendSeqs(store, 100, 50)
      await store.close()
      await (await reopen()).close()
      const table = await newest(location, /^\d+\.ldb$/)
      await truncate(table, (await stat(table)).size - 20)
      // LevelDB writes and syncs a table before naming it in the MANIFEST, so a crash does not
      // cut one short; LevelDB reports an I/O error, and I/O errors are not repaired (see openLevel).
      const failure = openEventStore(location)
      await expect(failure).rejects.toHaveProperty('name', 'StoreError')
      await expect(failure).rejects.toThrow(/move the directory aside/)
    } finally {
      await cleanup()
    }
  })

  it('skips and counts a record that is not a batch, an event in one that is not a kb event, and bad legacy records', async () => {
    const { location, store, reopen, cleanup } = await onDisk()
    try {
      await appendSeqs(store, 5, 1) // records 0 to 4, seq 1 to 5
      await store.close()
      const raw = rawLevel(location)
      const records = await raw.keys({ gte: Uint8Array.of(0x62), lt: Uint8Array.of(0x63) }).all()
      expect(records.length).toBe(5)
      await raw.put(records[1], Uint8Array.of(0xd9, 0xd9, 0xf7, 0x81, 0xa1, 0xff)) // seq 2: a batch of one bad map
      const message: WireEvent = { kind: 'message', id: newEventId(), hlc: { wall: 1, counter: 0 }, origin: ORIGIN, term: atom('hi') }
      await raw.put(records[2], encodeBatch([message, assertEvent(ORIGIN, 3)])) // seq 3 stays, the message does not
      await raw.put(eventKey(ORIGIN, 7), Uint8Array.of(0xd9, 0xd9, 0xf7, 0xa1, 0xff))
      await raw.put(eventKey(ORIGIN, 8), encodeEvent(assertEvent(ORIGIN, 9))) // not the event its key names
      await raw.put(eventKey(ORIGIN, 6), encodeEvent(assertEvent(ORIGIN, 6)))
      await raw.close()
      const reopened = await reopen()
      expect(await seqs(reopened)).toEqual([6, 1, 3, 4, 5]) // legacy records first
      expect(reopened.counters.skipped_corrupt).toBe(4)
    } finally {
      await cleanup()
    }
  })

  it('replays a store of the old layout, one record per event, before what is appended to it', async () => {
    const { location, store, reopen, cleanup } = await onDisk()
    try {
      await store.close()
      const legacy = oneTo(3).map(seq => assertEvent(ORIGIN, seq))
      const raw = rawLevel(location)
      await raw.batch(legacy.map(event => ({ type: 'put' as const, key: eventKey(event.origin, event.seq), value: encodeEvent(event) })))
      await raw.close()
      const reopened = await reopen()
      const fourth = assertEvent(ORIGIN, 4)
      await reopened.append([assertEvent(ORIGIN, 3, true), fourth])
      expect(await collect(reopened.all())).toEqual([...legacy, fourth]) // the first seq 3 written wins
      expect(reopened.counters.skipped_duplicate).toBe(1)
    } finally {
      await cleanup()
    }
  })

  it('refuses a second opener of the same directory with a StoreError naming the directory', async () => {
    const { location, store, cleanup } = await onDisk()
    try {
      const second = openEventStore(location)
      await expect(second).rejects.toHaveProperty('name', 'StoreError')
      await expect(second).rejects.toThrow(`data dir ${location} is in use by another process (LOCK held): stop it or choose another --data-dir`)
      await store.append([assertEvent(ORIGIN, 1)]) // the first opener is unaffected
      expect(await seqs(store)).toEqual([1])
    } finally {
      await cleanup()
    }
  })

  it('measures: append 100,000 events in batches of 1,000, then all()', async () => {
    const { store, cleanup } = await onDisk()
    try {
      const events = oneTo(100_000).map(seq => assertEvent(ORIGIN, seq))
      const started = performance.now()
      for (let i = 0; i < events.length; i += 1_000) await store.append(events.slice(i, i + 1_000))
      const appended = performance.now()
      let count = 0
      for await (const _ of store.all()) count++
      const read = performance.now()
      console.log(`append 100,000 events in batches of 1,000: ${Math.round(appended - started)} ms; all(): ${Math.round(read - appended)} ms`)
      expect(count).toBe(100_000)
    } finally {
      await cleanup()
    }
  })
})
