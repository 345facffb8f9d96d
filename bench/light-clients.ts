/**
 * A helper process of the memory step: COUNT light libp2p clients (light-client.ts) in this one
 * process, connected to a signaller and subscribed to the event topic. Once all are subscribed it
 * prints `ready COUNT`; on a line `publish N` on stdin each client publishes N message events of
 * about 1 KiB (one gossipsub message each, 100 ms apart), then it prints `published`. SIGTERM stops.
 *
 *   node --import tsx bench/light-clients.ts SIGNALLER_MULTIADDR NETWORK COUNT
 */
import '../node/node20.ts'
import { createInterface } from 'node:readline'
import { eventTopic } from '../core/net/constants.ts'
import { encodeBatch, newEventId } from '../core/wire/event.ts'
import { compound } from '../core/wire/term.ts'
import { startLightClient } from './light-client.ts'
import type { LightClient } from './light-client.ts'

const [signaller, network, countText] = process.argv.slice(2)
const count = Number(countText)
const topic = eventTopic(network)
const clients: LightClient[] = []
let received = 0

for (let i = 0; i < count; i++) {
  clients.push(await startLightClient(signaller, network, (events) => { received += events.length }))
  // Under the signaller's inbound connection threshold whatever it is set to.
  if (i % 10 === 9) await new Promise(resolve => setTimeout(resolve, 100))
}
// Subscribed once the signaller shows in each client's view of the topic.
for (;;) {
  const subscribed = clients.filter(c => c.libp2p.services.pubsub.getSubscribers(topic).length > 0).length
  if (subscribed === count) break
  await new Promise(resolve => setTimeout(resolve, 100))
}
console.log(`ready ${count}`)

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = line.match(/^publish (\d+)$/)
  if (m === null) return
  void publish(Number(m[1]))
})

async function publish (n: number): Promise<void> {
  for (let k = 0; k < n; k++) {
    await Promise.all(clients.map(async (client, i) => {
      const origin = client.libp2p.peerId.toString()
      const data = encodeBatch([{ kind: 'message', id: newEventId(), hlc: { wall: Date.now(), counter: 0 }, origin, term: compound('bench_load', BigInt(i), BigInt(k), 'x'.repeat(900)) }])
      await client.libp2p.services.pubsub.publish(topic, data).catch(() => {})
    }))
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  console.log(`published ${n} each, received ${received} events`)
}

process.once('SIGTERM', () => {
  void Promise.all(clients.map(async c => { await c.stop() })).finally(() => process.exit(0))
})
