/**
 * The durable event log: every kb event this peer accepted, so that a restart replays them and a
 * peer that catches up can be served from them (docs: DESIGN.md, "Safety": nothing accepted is lost).
 *
 * One API on the npm `level` family: `classic-level` (LevelDB on disk) in Node and `browser-level`
 * (IndexedDB) in browsers; the `level` package picks one through its package.json browser field.
 *
 * Layout, all binary (the 'view' encoding, which both backends support natively and which needs no
 * `buffer` polyfill in browsers):
 * - event: `'e' | UTF-8(origin) | 0x00 | seq as 8 bytes big-endian` → the event's wire encoding
 *   (`encodeEvent`). Keys sort by origin, then by seq as a number (2 before 10), so `all()` is one
 *   range read. Origins are compared as UTF-8 bytes; an origin holding U+0000 still gets a key of
 *   its own (its length is the key's length minus 10), it only sorts among the others differently.
 * - meta: `'m' | UTF-8(key)` → bytes chosen by the caller.
 *
 * Values are the wire bytes, decoded with `decodeEvent` on load: what comes back from disk is
 * validated like anything from the network, and a record that does not decode is skipped and
 * counted, never fatal.
 *
 * Guarantees: `append` resolves after its one atomic batch is written (with `sync`, also fsynced);
 * appends run one at a time in call order, so "already held" is decided against every earlier append.
 * Non-guarantees: no index by hlc or id; one process per location (LevelDB's LOCK refuses a second,
 * IndexedDB does not: tabs must coordinate themselves).
 */
import { Level } from 'level'
import { decodeEvent, encodeEvent, isKbEvent, InvalidEventError } from '../wire/index.ts'
import type { KbEvent } from '../wire/index.ts'

/** Structurally libp2p's AbortOptions; the store does not depend on libp2p. */
export interface AbortOptions { signal?: AbortSignal }

export interface EventStore {
  /**
   * Durably appends events (one atomic batch write). Resolves only when the write is done: the
   * caller forwards or acknowledges an event only after this. Events already held (same
   * origin+seq) are skipped, the first one written wins. An abort takes effect while the append
   * waits for earlier ones; a write that has started is not undone.
   * @throws EventEncodingError (nothing is written) when an event cannot be encoded
   */
  append (events: readonly KbEvent[], options?: AbortOptions): Promise<void>
  /**
   * Every stored event, in (origin, seq) order, read in chunks of READ_CHUNK events.
   * Undecodable records are skipped and counted. In Node the whole read is one snapshot; IndexedDB
   * snapshots each chunk only, so an event appended meanwhile may or may not be seen.
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
  /** Events `append` skipped: same origin+seq already held, or twice in one call. */
  skipped_duplicate: number
  /** Records `all()` skipped: not a valid kb event, or not the event its key names. */
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

/** Events per read of `all()`: bounds the bytes held at once. */
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
  return new LevelEventStore(db, counters, init.sync ?? true)
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

const EVENT_TAG = 0x65 // 'e'
const META_TAG = 0x6d // 'm'
const EVENTS_FROM = Uint8Array.of(EVENT_TAG)
const EVENTS_BELOW = Uint8Array.of(EVENT_TAG + 1)
const SEQ_BYTES = 8

const utf8 = new TextEncoder()

/** The key of an origin's seq; see the layout at the top. */
export function eventKey (origin: string, seq: number): Uint8Array {
  const name = utf8.encode(origin)
  const key = new Uint8Array(1 + name.length + 1 + SEQ_BYTES)
  key[0] = EVENT_TAG
  key.set(name, 1)
  // seq is below 2^53 (the wire refuses more): the high 32 bits, then the low 32.
  const view = new DataView(key.buffer, 1 + name.length + 1)
  view.setUint32(0, Math.floor(seq / 0x1_0000_0000))
  view.setUint32(4, seq >>> 0)
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

interface StoredRecord { key: Uint8Array, value: Uint8Array }

class LevelEventStore implements EventStore {
  readonly counters: StoreCounters
  /** The last append in the queue: appends run one at a time so duplicate checks see every earlier write. */
  private queue: Promise<void> = Promise.resolve()

  constructor (
    private readonly db: Db,
    counters: StoreCounters,
    private readonly sync: boolean
  ) {
    this.counters = counters
  }

  async append (events: readonly KbEvent[], options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    // Encoded before queueing, so that an event that cannot be encoded refuses the whole call.
    // encodeEvent returns bytes of their own, not a view into cbor-x's shared buffer.
    const records = events.map(event => {
      const value = encodeEvent(event) // validates origin and seq before they make a key
      return { key: eventKey(event.origin, event.seq), value }
    })
    const run = this.queue.then(async () => {
      options.signal?.throwIfAborted()
      await this.write(records)
    })
    this.queue = run.catch(() => {}) // a failed append must not fail the ones queued after it
    return await run
  }

  private async write (records: readonly StoredRecord[]): Promise<void> {
    const unique = this.firstOfEachKey(records)
    const held = unique.length === 0 ? [] : await this.db.hasMany(unique.map(record => record.key))
    const fresh = unique.filter((_, i) => !held[i])
    this.counters.skipped_duplicate += records.length - fresh.length
    if (fresh.length === 0) return
    await this.db.batch(fresh.map(({ key, value }) => ({ type: 'put' as const, key, value })), { sync: this.sync })
    this.counters.appended += fresh.length
  }

  private firstOfEachKey (records: readonly StoredRecord[]): StoredRecord[] {
    const seen = new Set<string>()
    return records.filter(record => {
      const id = record.key.join(',')
      if (seen.has(id)) return false
      seen.add(id)
      return true
    })
  }

  async * all (options: AbortOptions = {}): AsyncGenerator<KbEvent> {
    const { signal } = options
    signal?.throwIfAborted()
    const iterator = this.db.iterator({ gte: EVENTS_FROM, lt: EVENTS_BELOW, signal })
    try {
      while (true) {
        const entries = await iterator.nextv(READ_CHUNK)
        if (entries.length === 0) return
        for (const [key, value] of entries) {
          signal?.throwIfAborted() // between any two events, not only between chunks
          const event = this.decodeRecord(key, value)
          if (event !== undefined) yield event
        }
      }
    } catch (err) {
      signal?.throwIfAborted() // the caller's reason, not level's LEVEL_ABORTED
      throw err
    } finally {
      await iterator.close()
    }
  }

  /** The stored event, or undefined (counted) for bytes that are not the kb event the key names. */
  private decodeRecord (key: Uint8Array, value: Uint8Array): KbEvent | undefined {
    try {
      const event = decodeEvent(value)
      if (isKbEvent(event) && sameBytes(key, eventKey(event.origin, event.seq))) return event
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err
    }
    this.counters.skipped_corrupt++
    return undefined
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
