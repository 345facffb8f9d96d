/**
 * The sync protocol: how a peer gets every kb event it missed, whatever gossipsub delivered.
 *
 * The puller opens a stream and sends its version vector (origin -> n: it holds that origin's kb
 * events 1..n). The server answers with every event it holds that the vector does not cover, as
 * length-prefixed batches (the wire format's batch, at most MAX_BATCH_BYTES each), then an empty
 * record, and closes. Every connected peer that speaks the protocol is pulled from when the
 * connection is identified, both ways, so a peer that joins, or comes back, catches up from each
 * neighbour; a peer that notices a gap in an origin's sequence numbers pulls again, and every
 * peer pulls from its neighbours every few seconds, which carries what one neighbour got by sync
 * on to the others.
 *
 * Guarantees: after a pull completes, the puller holds every kb event the server held when it
 * answered. Non-guarantees: events are not authenticated individually; a server could send events
 * in another origin's name (see docs/kb.md).
 */
import { lpStream } from '@libp2p/utils'
import { decodeBatch, encodeBatches, isKbEvent } from '../wire/event.ts'
import { decodeVector, encodeVector } from '../wire/vector.ts'
import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS } from './constants.ts'
import type { KbEvent } from '../wire/event.ts'
import type { Vector } from '../wire/vector.ts'
import type { IdentifyResult, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

export function syncProtocol (network: string): string {
  return `/p2p-prolog/${network}/sync/1.0.0`
}

/** What the sync protocol needs of a replica. */
export interface SyncSource {
  vector (): Vector
  missing (remote: Vector): readonly KbEvent[]
  /**
   * Stores and applies pulled events. The next batch may be handed over before this resolves (it
   * is decoded meanwhile, and stored while this one is applied), never more than two at a time.
   */
  accept (events: readonly KbEvent[], from: string): Promise<void>
}

export interface SyncInit {
  protocol: string
  /**
   * Every this many ms, pull from every neighbour again (anti-entropy). A pull of a neighbour that
   * has nothing new costs one vector each way. This is what carries events that a neighbour got
   * by sync (not by gossip) on to the rest of a star. @default 5_000
   */
  interval?: number
  /** A pull that takes longer is aborted. @default 60_000 */
  timeout?: number
  onError?: (peer: string, err: Error) => void
}

export interface Sync {
  /** Pulls from one peer now; resolves with the number of events received. */
  pull (peer: PeerId, options?: { signal?: AbortSignal }): Promise<number>
  /** Pulls from every connected peer that speaks the protocol (once its pull that runs, if one does, is done). */
  pullAll (): Promise<void>
  readonly counters: Readonly<Record<string, number>>
  stop (): Promise<void>
}

const SYNC_TIMEOUT_MS = 60_000
const ANTI_ENTROPY_MS = 5_000
const MAX_VECTOR_BYTES = 8 * 1024 * 1024
const END_OF_SYNC = new Uint8Array(0)
/**
 * Records (batches of at most MAX_BATCH_EVENTS, 512) handed to one accept() at most: about 10,000
 * events, so that the store's write and the engine's call cost little per event, while a call
 * still does not hold the engine for long.
 */
const RECORDS_PER_ACCEPT = 20

export async function createSync (libp2p: Libp2p, source: SyncSource, init: SyncInit): Promise<Sync> {
  const { protocol } = init
  const timeout = init.timeout ?? SYNC_TIMEOUT_MS
  const counters: Record<string, number> = {}
  const count = (key: string, n = 1): void => { counters[key] = (counters[key] ?? 0) + n }
  const onError = init.onError ?? (() => {})

  await libp2p.handle(protocol, async (stream: Stream) => {
    try {
      await serve(stream)
    } catch (err) {
      count('serve_failed')
      stream.abort(err as Error)
    }
  }, { maxInboundStreams: 8 })

  async function serve (stream: Stream): Promise<void> {
    const signal = AbortSignal.timeout(timeout)
    const lp = lpStream(stream, { maxDataLength: MAX_VECTOR_BYTES })
    const remote = decodeVector((await lp.read({ signal })).subarray())
    const events = source.missing(remote)
    // Encoded a batch at a time as it is written: the first events are on their way (and the
    // puller busy with them) while the rest are encoded; 100,000 take seconds to encode.
    for (let i = 0; i < events.length; i += MAX_BATCH_EVENTS) {
      for (const batch of encodeBatches(events.slice(i, i + MAX_BATCH_EVENTS), { maxBatchBytes: MAX_BATCH_BYTES, maxBatchEvents: MAX_BATCH_EVENTS })) {
        await lp.write(batch, { signal })
      }
    }
    await lp.write(END_OF_SYNC, { signal })
    count('served_events', events.length)
    await stream.close({ signal })
  }

  async function pull (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<number> {
    const signal = AbortSignal.any([AbortSignal.timeout(timeout), ...(options.signal === undefined ? [] : [options.signal])])
    const stream = await libp2p.dialProtocol(peer, protocol, { signal })
    const lp = lpStream(stream, { maxDataLength: MAX_BATCH_BYTES })
    let received = 0
    try {
      await lp.write(encodeVector(source.vector()), { signal })
      // Records are read as fast as they come while earlier ones are accepted: a stream that is
      // not read fills libp2p's read buffer (4 MiB), which then aborts it. A batch is decoded
      // and handed over while the one before it is still accepted.
      const records = readRecords(lp, signal)
      let accepting: Promise<void> = Promise.resolve()
      for (let batch = await records.next(RECORDS_PER_ACCEPT); batch.length > 0; batch = await records.next(RECORDS_PER_ACCEPT)) {
        const events = batch.flatMap(record => decodeBatch(record))
        if (!events.every(isKbEvent)) throw new Error('a sync batch holds an event that is not an assert or retract')
        received += events.length
        const accepted = source.accept(events as KbEvent[], peer.toString())
        accepted.catch(() => {}) // awaited in turn below; until then it must not count as unhandled
        await accepting
        accepting = accepted
      }
      await accepting
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
    count('pulls')
    count('pulled_events', received)
    return received
  }

  /**
   * The records of one answer, read ahead of the consumer: `next(max)` resolves with up to `max`
   * of the records read and not taken yet (at least one), or with none at the end. A read error
   * rejects it.
   */
  function readRecords (lp: LengthPrefixedStream<Stream>, signal: AbortSignal): { next: (max: number) => Promise<Uint8Array[]> } {
    const queued: Uint8Array[] = []
    let ended = false
    let failure: Error | undefined
    let wake: (() => void) | undefined
    void (async () => {
      try {
        for (let record = (await lp.read({ signal })).subarray(); record.byteLength > 0; record = (await lp.read({ signal })).subarray()) {
          queued.push(record)
          wake?.()
        }
      } catch (err) {
        failure = err as Error
      }
      ended = true
      wake?.()
    })()
    return {
      next: async (max) => {
        while (queued.length === 0 && !ended) await new Promise<void>(resolve => { wake = resolve })
        if (failure !== undefined) throw failure
        return queued.splice(0, max)
      }
    }
  }

  /**
   * One pull of a peer at a time: a pull asked for while one runs (the anti-entropy timer, a gap)
   * follows it, once. Two at once would bring the same events twice: a catch-up of 100,000 takes
   * longer than the timer's 5 s.
   */
  const pulling = new Map<string, { again: boolean }>()
  let stopped = false

  function pullQuietly (peer: PeerId): void {
    const key = peer.toString()
    const running = pulling.get(key)
    if (running !== undefined) {
      running.again = true
      return
    }
    const state = { again: false }
    pulling.set(key, state)
    pull(peer).catch((err: Error) => {
      count('pull_failed')
      onError(key, err)
    }).finally(() => {
      pulling.delete(key)
      if (state.again && !stopped) pullQuietly(peer)
    })
  }

  // A peer reached only over a limited (relayed) connection is not pulled from: the pull would
  // make libp2p dial it anew (in browsers, a WebRTC dial that crosses the one discovery makes);
  // identify runs again on the direct connection, and the pull follows then.
  const unlimited = (peer: PeerId): boolean => libp2p.getConnections(peer).some(c => c.limits == null)

  const onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    if (evt.detail.protocols.includes(protocol) && unlimited(evt.detail.peerId)) pullQuietly(evt.detail.peerId)
  }
  libp2p.addEventListener('peer:identify', onIdentify)

  async function pullAll (): Promise<void> {
    const peers = await Promise.all(libp2p.getPeers().filter(unlimited).map(async peer => {
      const known = await libp2p.peerStore.get(peer).catch(() => undefined)
      return known?.protocols.includes(protocol) === true ? peer : undefined
    }))
    for (const peer of peers) if (peer !== undefined) pullQuietly(peer)
  }
  const timer = setInterval(() => { void pullAll() }, init.interval ?? ANTI_ENTROPY_MS)
  // Peers connected before the protocol was registered were identified without it.
  void pullAll()

  return {
    pull,
    pullAll,
    counters,
    stop: async () => {
      stopped = true
      clearInterval(timer)
      libp2p.removeEventListener('peer:identify', onIdentify)
      await libp2p.unhandle(protocol)
    }
  }
}
