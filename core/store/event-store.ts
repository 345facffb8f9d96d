/**
 * The durable event log: every kb event this peer accepted, so that a restart replays them and a
 * peer that catches up can be served from them (docs: DESIGN.md, "Safety": nothing accepted is lost).
 *
 * One API on the npm `level` family: `classic-level` (LevelDB on disk) in Node and `browser-level`
 * (IndexedDB) in browsers; the `level` package picks one through its package.json browser field.
 *
 * Layout, all binary (the 'view' encoding, which both backends support natively and which needs no
 * `buffer` polyfill in browsers):
 * - record: `'b' | record number as 8 bytes big-endian` → one wire batch (`encodeBatches`, within
 *   its limits: 4,096 events, 1 MiB) of the events of one `append`. Numbers count up from 0 in
 *   append order; the next one is found on open from the last key. A record per wire batch, not
 *   per event, because IndexedDB pays per request and browser-level puts one after another.
 * - legacy event: `'e' | UTF-8(origin) | 0x00 | seq as 8 bytes big-endian` → the event's wire
 *   encoding (`encodeEvent`). Stores written before the records existed hold these; they are still
 *   read, never written.
 * - meta: `'m' | UTF-8(key)` → bytes chosen by the caller.
 *
 * Values are wire bytes, decoded with `decodeBatch` / `decodeEvent` on load: what comes back from
 * disk is validated like anything from the network, and a record that does not decode is skipped
 * and counted, never fatal.
 *
 * Guarantees: `append` resolves after its one atomic batch write (with `sync`, also fsynced), so an
 * append is on disk whole or not at all; appends run one at a time in call order. `all()` yields
 * legacy events first, then records in number order: the order they were written. Of events with
 * the same origin+seq the first one written wins: `append` drops repeats within one call without
 * reading the disk, `all()` skips copies written by a later call.
 * Non-guarantees: no index by origin, seq, hlc or id (a read is a full replay); one process per
 * location (LevelDB's LOCK refuses a second, IndexedDB does not: tabs must coordinate themselves).
 */
import { Level } from 'level'
import { decodeBatch, decodeEvent, encodeBatches, isKbEvent, InvalidEventError } from '../wire/index.ts'
import type { KbEvent, WireEvent } from '../wire/index.ts'

/** Structurally libp2p's AbortOptions; the store does not depend on libp2p. */
export interface AbortOptions { signal?: AbortSignal }

export interface AppendOptions extends AbortOptions {
  /**
   * fsync this append; the store's `sync` when absent. Events that only this peer holds (its own)
   * need it; events other peers also hold can be given back by them after a power loss.
   */
  sync?: boolean
}

export interface EventStore {
  /**
   * Appends events (one atomic batch write, fsynced unless `sync` says otherwise). Resolves only
   * when the write is done: the caller forwards or acknowledges an event only after this. Of events with the same origin+seq
   * the first one written wins: a repeat within this call is dropped (and not encoded), one already
   * written by an earlier call is written again but skipped by `all()`. An abort takes effect while
   * the append waits for earlier ones; a write that has started is not undone.
   * @throws EventEncodingError (nothing is written) when an event cannot be encoded
   */
  append (events: readonly KbEvent[], options?: AppendOptions): Promise<void>
  /**
   * Every stored event once, in the order it was appended (the first copy of an origin+seq), read
   * in chunks of RECORDS_PER_READ records (READ_CHUNK legacy events). Undecodable records are
   * skipped and counted. A read keeps each origin+seq it yielded (a number per event) to skip later
   * copies. In Node each layout's range (legacy events, then records) is read from one snapshot;
   * IndexedDB snapshots each chunk only, so an event appended meanwhile may or may not be seen.
   */
  all (options?: AbortOptions): AsyncIterable<KbEvent>
  /**
   * A small metadata record that must survive restarts. Written apart from `append`, so a value
   * that follows from the events (the local origin's last seq) is exact only when recomputed from them.
   */
  getMeta (key: string): Promise<Uint8Array | undefined>
  putMeta (key: string, value: Uint8Array): Promise<void>
  /** See {@link StoreCounters}. */
  readonly counters: Readonly<StoreCounters>
  /** Waits for appends in progress, then closes. */
  close (): Promise<void>
}

/** A type literal, not an interface, so that it reads as a Record<string, number> (e.g. for metrics). */
export type StoreCounters = {
  /** Events written by `append`. */
  appended: number
  /**
   * Later copies of an origin+seq: dropped by `append` (twice in one call), or skipped by `all()`
   * (written by a later call; counted again by each read).
   */
  skipped_duplicate: number
  /**
   * What `all()` skipped: a record that is not a valid batch, an event in one that is not a kb
   * event, a legacy record that is not a valid kb event or not the event its key names.
   */
  skipped_corrupt: number
  /** Times opening found a damaged database and repaired it (Node only). */
  repaired: number
}

export interface EventStoreInit {
  /**
   * fsync every append, so an acknowledged event also survives power loss and kernel crashes,
   * not only the death of the process (which the OS page cache survives). @default true
   */
  sync?: boolean
}

/** Records per read of `all()` (up to 1 MiB each): bounds the bytes held at once. */
export const RECORDS_PER_READ = 8

/** Legacy events per read of `all()`. */
export const READ_CHUNK = 1_000

/** The store could not be opened or used; the message says what the user can do about it. */
export class StoreError extends Error {
  static override name = 'StoreError'

  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'StoreError'
  }
}

/**
 * Opens (creating if missing) the store at `location`: a directory in Node, a database name in browsers.
 * @throws StoreError when the location is locked by another process or cannot be opened or repaired
 */
export async function openEventStore (location: string, init: EventStoreInit = {}): Promise<EventStore> {
  const counters: StoreCounters = { appended: 0, skipped_duplicate: 0, skipped_corrupt: 0, repaired: 0 }
  const db = await openLevel(location, counters)
  try {
    return new LevelEventStore(db, counters, init.sync ?? true, await nextRecordNumber(db))
  } catch (err) {
    await db.close() // releases the LOCK
    throw openFailure(location, err)
  }
}

type Db = Level<Uint8Array, Uint8Array>

/** `classic-level` has a static `repair`; `browser-level` (and the `Level` type) has none. */
const repair = (Level as { repair?: (location: string) => Promise<void> }).repair?.bind(Level)

/** Keys per read when opening checks that every record can be read. */
const CHECK_CHUNK = 10_000

/**
 * Opens the database, repairing it once if LevelDB reports corruption. Only corruption is
 * repaired: RepairDB sets aside every table it cannot read, and after an I/O error (a flaky disk,
 * a permission) those tables may be healthy.
 */
async function openLevel (location: string, counters: StoreCounters): Promise<Db> {
  try {
    return await openOnce(location)
  } catch (err) {
    if (levelCode(err) !== 'LEVEL_CORRUPTION' || repair === undefined) throw openFailure(location, err)
    try {
      // LevelDB's RepairDB keeps every record it can still read and drops the damaged ones.
      await repair(location)
      counters.repaired++
      return await openOnce(location)
    } catch (second) {
      throw openFailure(location, second)
    }
  }
}

async function openOnce (location: string): Promise<Db> {
  const db: Db = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  // LevelDB opens a store with a damaged table without complaint and fails only when the table is
  // read: reading every key now finds the damage here, where it is repaired, not in the middle of
  // a replay. Without a repair (browsers) the check would only move the failure, at a full read.
  if (repair === undefined) return db
  try {
    await readEveryKey(db)
    return db
  } catch (err) {
    await db.close()
    throw err
  }
}

async function readEveryKey (db: Db): Promise<void> {
  const keys = db.keys({ fillCache: false })
  try {
    while ((await keys.nextv(CHECK_CHUNK)).length > 0) {} // the reading is the check
  } finally {
    await keys.close()
  }
}

/** abstract-level reports a failed open as LEVEL_DATABASE_NOT_OPEN with the reason as its cause. */
function levelCode (err: unknown): string | undefined {
  const code = (value: unknown): string | undefined =>
    typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string' ? (value as { code: string }).code : undefined
  return code(err instanceof Error ? err.cause : undefined) ?? code(err)
}

function openFailure (location: string, err: unknown): StoreError {
  if (levelCode(err) === 'LEVEL_LOCKED') {
    return new StoreError(`data dir ${location} is in use by another process (LOCK held): stop it or choose another --data-dir`, { cause: err })
  }
  const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)
  return new StoreError(`cannot open the event store at ${location} (${reason}): check the disk and the permissions; if a file in it is damaged, move the directory aside to start empty`, { cause: err })
}

const RECORD_TAG = 0x62 // 'b'
const EVENT_TAG = 0x65 // 'e'
const META_TAG = 0x6d // 'm'
const UINT64_BYTES = 8
const RECORD_KEY_BYTES = 1 + UINT64_BYTES

interface Range { gte: Uint8Array, lt: Uint8Array }
/** Every key that starts with `tag`. */
const tagged = (tag: number): Range => ({ gte: Uint8Array.of(tag), lt: Uint8Array.of(tag + 1) })
const RECORDS = tagged(RECORD_TAG)
const LEGACY_EVENTS = tagged(EVENT_TAG)

const utf8 = new TextEncoder()

/** Writes `value` (below 2^53) as 8 bytes big-endian: the high 32 bits, then the low 32. */
function setUint64 (bytes: Uint8Array, at: number, value: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, UINT64_BYTES)
  view.setUint32(0, Math.floor(value / 0x1_0000_0000))
  view.setUint32(4, value >>> 0)
}

function getUint64 (bytes: Uint8Array, at: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, UINT64_BYTES)
  return view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4)
}

function recordKey (number: number): Uint8Array {
  const key = new Uint8Array(RECORD_KEY_BYTES)
  key[0] = RECORD_TAG
  setUint64(key, 1, number)
  return key
}

/** The number after the last record's: numbers are kept in memory from here, never asked of the disk again. */
async function nextRecordNumber (db: Db): Promise<number> {
  const [last] = await db.keys({ ...RECORDS, reverse: true, limit: 1 }).all()
  if (last === undefined) return 0
  // A key of another length was not written by this store: counting on from it could overwrite records.
  if (last.length !== RECORD_KEY_BYTES) throw new Error(`a record key of ${last.length} bytes, not ${RECORD_KEY_BYTES}`)
  return getUint64(last, 1) + 1
}

/** The key of an origin's seq in the legacy layout (see the top): read, no longer written. */
export function eventKey (origin: string, seq: number): Uint8Array {
  const name = utf8.encode(origin)
  const key = new Uint8Array(1 + name.length + 1 + UINT64_BYTES)
  key[0] = EVENT_TAG
  key.set(name, 1)
  setUint64(key, 1 + name.length + 1, seq) // seq is below 2^53: the wire refuses more
  return key
}

function metaKey (key: string): Uint8Array {
  const name = utf8.encode(key)
  const bytes = new Uint8Array(1 + name.length)
  bytes[0] = META_TAG
  bytes.set(name, 1)
  return bytes
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Origin+seq pairs; a Set of numbers per origin takes less memory than a string per event. */
class OriginSeqs {
  private readonly byOrigin = new Map<string, Set<number>>()

  /** Adds the event's origin+seq; false when it was there already. */
  add (event: KbEvent): boolean {
    let seqs = this.byOrigin.get(event.origin)
    if (seqs === undefined) {
      seqs = new Set()
      this.byOrigin.set(event.origin, seqs)
    }
    if (seqs.has(event.seq)) return false
    seqs.add(event.seq)
    return true
  }
}

/** The first event of each origin+seq, in order. */
function firstOfEach (events: readonly KbEvent[]): KbEvent[] {
  const seen = new OriginSeqs()
  return events.filter(event => seen.add(event))
}

type Entry = [key: Uint8Array, value: Uint8Array]

/** One key range of `all()`: how many records to read at once and what events a record holds. */
interface Layout { range: Range, perRead: number, decode: (key: Uint8Array, value: Uint8Array) => KbEvent[] }

class LevelEventStore implements EventStore {
  readonly counters: StoreCounters
  /** The last append in the queue: appends run one at a time, so records are numbered in call order. */
  private queue: Promise<void> = Promise.resolve()
  /** Written first, the legacy events were appended before any record. */
  private readonly layouts: readonly Layout[] = [
    { range: LEGACY_EVENTS, perRead: READ_CHUNK, decode: (key, value) => this.decodeLegacy(key, value) },
    { range: RECORDS, perRead: RECORDS_PER_READ, decode: (_, value) => this.decodeRecord(value) }
  ]

  constructor (
    private readonly db: Db,
    counters: StoreCounters,
    private readonly sync: boolean,
    /** The number of the next record to write. */
    private nextRecord: number
  ) {
    this.counters = counters
  }

  async append (events: readonly KbEvent[], options: AppendOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    const unique = firstOfEach(events)
    // Encoded before queueing, so that an event that cannot be encoded refuses the whole call;
    // encodeBatches validates each event (origin and seq too) as it encodes it, once.
    const records = encodeBatches(unique)
    const run = this.queue.then(async () => {
      options.signal?.throwIfAborted()
      await this.write(records, options.sync ?? this.sync)
      this.counters.appended += unique.length
      this.counters.skipped_duplicate += events.length - unique.length
    })
    this.queue = run.catch(() => {}) // a failed append must not fail the ones queued after it
    return await run
  }

  /** All of an append's records in one atomic write: on disk whole or not at all. */
  private async write (records: readonly Uint8Array[], sync: boolean): Promise<void> {
    if (records.length === 0) return
    const first = this.nextRecord
    // Taken before writing: a write that reports failure but reached the disk is never overwritten.
    this.nextRecord += records.length
    await this.db.batch(records.map((value, i) => ({ type: 'put' as const, key: recordKey(first + i), value })), { sync })
  }

  async * all (options: AbortOptions = {}): AsyncGenerator<KbEvent> {
    const { signal } = options
    signal?.throwIfAborted()
    const read = new OriginSeqs() // read in the order written, so the first copy read is the first written
    try {
      for (const layout of this.layouts) {
        for await (const entries of this.entries(layout, signal)) {
          for (const [key, value] of entries) {
            for (const event of layout.decode(key, value)) {
              signal?.throwIfAborted() // between any two events, not only between chunks
              if (read.add(event)) yield event
              else this.counters.skipped_duplicate++
            }
          }
        }
      }
    } catch (err) {
      signal?.throwIfAborted() // the caller's reason, not level's LEVEL_ABORTED
      throw err
    }
  }

  /** A layout's records in key order, `perRead` at a time. */
  private async * entries ({ range, perRead }: Layout, signal: AbortSignal | undefined): AsyncGenerator<Entry[]> {
    const iterator = this.db.iterator({ ...range, signal })
    try {
      for (let chunk = await iterator.nextv(perRead); chunk.length > 0; chunk = await iterator.nextv(perRead)) yield chunk
    } finally {
      await iterator.close()
    }
  }

  /** The kb events of a record; none (counted) for bytes that are not a batch, one count per event that is not a kb event. */
  private decodeRecord (value: Uint8Array): KbEvent[] {
    let events: WireEvent[]
    try {
      events = decodeBatch(value)
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err
      this.counters.skipped_corrupt++
      return []
    }
    const kb = events.filter(isKbEvent)
    this.counters.skipped_corrupt += events.length - kb.length
    return kb
  }

  /** A legacy record's event, or none (counted) for bytes that are not the kb event the key names. */
  private decodeLegacy (key: Uint8Array, value: Uint8Array): KbEvent[] {
    try {
      const event = decodeEvent(value)
      if (isKbEvent(event) && sameBytes(key, eventKey(event.origin, event.seq))) return [event]
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err
    }
    this.counters.skipped_corrupt++
    return []
  }

  async getMeta (key: string): Promise<Uint8Array | undefined> {
    // abstract-level 2+ resolves a missing key to undefined (the `level` typings still say otherwise).
    const value: Uint8Array | undefined = await this.db.get(metaKey(key))
    // classic-level hands out Buffers: the same bytes as a plain Uint8Array, as in browsers.
    return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  }

  async putMeta (key: string, value: Uint8Array): Promise<void> {
    await this.db.put(metaKey(key), value, { sync: this.sync })
  }

  async close (): Promise<void> {
    await this.queue
    await this.db.close()
  }
}
