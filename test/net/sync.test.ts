/**
 * The sync protocol between two libp2p nodes of this process (WebSockets on loopback, noise,
 * yamux, as the peers run it): a pull of 100,000 events reaches a slow consumer whole, in batches
 * of about 10,000, decoded and handed over while the batch before is still accepted; and a peer
 * is pulled from once at a time, however often a pull is asked for meanwhile.
 */
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { webSockets } from '@libp2p/websockets'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import '../../node/node20.ts'
import { Replica } from '../../core/kb/replica.ts'
import { MAX_BATCH_EVENTS } from '../../core/net/constants.ts'
import { createSync, syncProtocol } from '../../core/net/sync.ts'
import { newEventId } from '../../core/wire/event.ts'
import { atom, compound } from '../../core/wire/term.ts'
import { eventually } from '../support/processes.ts'
import type { Sync, SyncSource } from '../../core/net/sync.ts'
import type { KbEvent } from '../../core/wire/event.ts'
import type { Libp2p } from '@libp2p/interface'

const ORIGIN = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const PROTOCOL = syncProtocol('test')
const running: Array<{ stop: () => void | Promise<void> }> = []

afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop()
})

async function node (listen: boolean): Promise<Libp2p> {
  const libp2p = await createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0/ws'] : [] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  running.push(libp2p)
  return libp2p
}

function seeded (count: number): Replica {
  const replica = new Replica()
  const wall = Date.now() - 60_000
  for (let seq = 1; seq <= count; seq++) {
    replica.apply({ kind: 'assert', id: newEventId(), hlc: { wall, counter: seq }, origin: ORIGIN, seq, front: false, clause: compound('seed', BigInt(seq), atom('x')) }, Date.now())
  }
  return replica
}

/** A sync that serves what `replica` holds and accepts into it, through `accept` first. */
async function syncOf (libp2p: Libp2p, replica: Replica, accept: (events: readonly KbEvent[]) => Promise<void> = async () => {}): Promise<Sync> {
  const source: SyncSource = {
    vector: () => replica.vector(),
    missing: remote => replica.missing(remote),
    accept: async events => {
      await accept(events)
      for (const event of events) replica.apply(event, Date.now())
    }
  }
  const sync = await createSync(libp2p, source, { protocol: PROTOCOL, interval: 3_600_000 })
  running.push(sync)
  return sync
}

describe('sync', () => {
  it('pulls 100,000 events into a slow consumer, about 10,000 an accept, at most two accepts at a time', async () => {
    const [server, client] = [await node(true), await node(false)]
    await syncOf(server, seeded(100_000))
    const mine = new Replica()
    const sizes: number[] = []
    let inFlight = 0
    let mostInFlight = 0
    const sync = await syncOf(client, mine, async events => {
      sizes.push(events.length)
      mostInFlight = Math.max(mostInFlight, ++inFlight)
      // A store and an engine that take their time: the answer piles up meanwhile.
      await new Promise(resolve => setTimeout(resolve, 20))
      inFlight--
    })
    await client.dial(server.getMultiaddrs()[0])
    await eventually(() => sync.counters.pulls === 1, { timeout: 60_000, describe: () => JSON.stringify(sync.counters) })
    expect(mine.size).toBe(100_000)
    expect(mine.vector()).toStrictEqual(new Map([[ORIGIN, 100_000]]))
    expect(sync.counters.pulled_events).toBe(100_000)
    expect(mostInFlight).toBe(2)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(20 * MAX_BATCH_EVENTS)
    expect(sizes.length).toBeLessThan(100_000 / MAX_BATCH_EVENTS)
  })

  it('pulls a peer once at a time: pulls asked for meanwhile become one more after it', async () => {
    const [server, client] = [await node(true), await node(false)]
    await syncOf(server, seeded(5_000))
    let open: () => void = () => {}
    const gate = new Promise<void>(resolve => { open = resolve })
    let accepts = 0
    const sync = await syncOf(client, new Replica(), async () => {
      accepts++
      await gate
    })
    await client.dial(server.getMultiaddrs()[0])
    // The pull that identify started waits in its first accept; ask for three more meanwhile.
    await eventually(() => accepts > 0, { timeout: 30_000 })
    for (let i = 0; i < 3; i++) await sync.pullAll()
    open()
    await eventually(() => sync.counters.pulls === 2, { timeout: 30_000, describe: () => JSON.stringify(sync.counters) })
    // The second pull found nothing new: the first brought all 5,000, once.
    expect(sync.counters.pulled_events).toBe(5_000)
    await sync.pullAll()
    await eventually(() => sync.counters.pulls === 3, { timeout: 30_000, describe: () => JSON.stringify(sync.counters) })
    expect(sync.counters.pulled_events).toBe(5_000)
  })
})
