/**
 * The UDP bridge (node-peer/udp-bridge.ts) on a real multicast group (the private network
 * namespace of test/netns.sh) with the real engine as its codec, watched: a backlog reaches the
 * engine in calls of at most 512 datagrams, in order; changes of shared predicates are done by the
 * engine and stored before the batch goes on, and the rest goes to the network as messages. The
 * peer is a stand-in that records what the bridge hands it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import '../../node/node20.ts'
import { newEventId } from '../../core/wire/event.ts'
import { atom, compound, int } from '../../core/wire/term.ts'
import { createLog } from '../../node/log.ts'
import { createNodeEngine } from '../../node-peer/engine-host.ts'
import { createUdpBridge } from '../../node-peer/udp-bridge.ts'
import { eventually, freePort, multicastSender } from '../support/processes.ts'
import type { Engine } from '../../core/engine/engine.ts'
import type { Peer } from '../../core/peer.ts'
import type { MessageEvent } from '../../core/wire/event.ts'
import type { Term } from '../../core/wire/term.ts'
import type { UdpBridge, UdpCodec } from '../../node-peer/udp-bridge.ts'
import type { Socket } from 'node:dgram'

const GROUP = '239.0.0.2'
let engine: Engine
let sender: Socket

beforeAll(async () => {
  engine = await createNodeEngine({ onOutput: () => {} })
  await engine.consult(':- shared(reading/1).', { source: 'shared' })
  sender = await multicastSender()
})

afterAll(async () => {
  sender.close()
  await engine.close()
})

/** What a peer would send to the network, in order; nothing comes from it. */
function standInPeer (sent: Term[]): Peer {
  return {
    origin: 'stand-in',
    send: (term): MessageEvent => {
      sent.push(term)
      return { kind: 'message', id: newEventId(), hlc: { wall: Date.now(), counter: 0 }, origin: 'stand-in', term }
    },
    request: async function * () {},
    query: async function * () {},
    onMessage: () => {},
    onRequest: () => {},
    counters: {}
  }
}

describe('the UDP bridge\'s way in', () => {
  it('hands a backlog to the engine 512 datagrams at a time, in order, changes stored before the rest goes on', async () => {
    const port = await freePort()
    const sizes: number[] = []
    const events: string[] = []
    let held: (() => void) | undefined
    const hold = new Promise<void>(resolve => { held = resolve })
    const codec: UdpCodec = {
      receiveUdp: async texts => {
        sizes.push(texts.length)
        // The first call waits: what arrives meanwhile is the backlog.
        if (sizes.length === 1) await hold
        return await engine.receiveUdp(texts)
      },
      encodeUdp: async messages => await engine.encodeUdp(messages)
    }
    const sent: Term[] = []
    // A store that takes its time: nothing of the batch may go on meanwhile.
    const knowledge = {
      settled: async () => {
        const before = sent.length
        await new Promise(resolve => setTimeout(resolve, 50))
        events.push(`${before} sent before the store settled, ${sent.length} after`)
      }
    }
    const bridge: UdpBridge = await createUdpBridge({ peer: standInPeer(sent), codec, knowledge, log: createLog('bridge', 'error') }, { group: GROUP, port })
    try {
      const send = (text: string): void => { sender.send(text, port, GROUP) }
      send('%-prolog-\nsend(first)')
      await eventually(() => sizes.length === 1)
      for (let i = 0; i < 2_000; i++) {
        send(i === 1_000 ? '%-prolog-\nsend(assert(reading(1000)))' : `%-prolog-\nsend(n(${i}))`)
        // UDP has no flow control: each hundred is read before the next goes.
        if (i % 100 === 99) await eventually(() => (bridge.counters.datagrams_in ?? 0) >= i + 2, { interval: 5 })
      }
      await eventually(() => bridge.counters.datagrams_in === 2_001, { describe: () => JSON.stringify(bridge.counters) })
      held?.()
      await eventually(() => sent.length === 2_000, { describe: () => `${sent.length} sent` })
      expect(sizes[0]).toBe(1)
      expect(sizes.slice(1)).toStrictEqual([512, 512, 512, 464])
      expect(sent).toStrictEqual([atom('first'), ...Array.from({ length: 2_000 }, (_, i) => compound('n', int(i))).filter((_, i) => i !== 1_000)])
      // The batch with the change waited for the store before its first message went on.
      expect(events).toStrictEqual(['513 sent before the store settled, 513 after'])
      expect(bridge.counters).toMatchObject({ knowledge_changes: 1, accepted_send: 2_001 })
    } finally {
      await bridge.stop()
    }
  })
})
