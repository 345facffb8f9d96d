/**
 * Figure 5a, the signaller's memory with 50 connected peers. The peers are 50 light libp2p clients
 * in one helper process (light-clients.ts: the transports, encryption, muxer and gossipsub of a
 * node peer, subscribed to the event topic, without engine or store): 50 full node peers would
 * each run a swipl-wasm worker, and the scale step runs those. The signaller's VmRSS is sampled
 * every 250 ms while the 50 are connected and idle (5 s), while each publishes 20 messages of
 * about 1 KiB (the signaller forwards each to the 49 others) and for 3 s after; the figure is
 * over those samples. The floor is the same signaller before any peer connected.
 */
import { rm } from 'node:fs/promises'
import { freePort, makeDeployment } from '../test/support/processes.ts'
import { healthz, NETWORK, progress, rssMb, sleep, startProgram, startSignaller, stats, waitSubscribers } from './support.ts'
import type { Figure } from './figure.ts'

const PEERS = 50
const PUBLISH_EACH = 20

export async function signallerMemory (): Promise<Figure[]> {
  const port = await freePort()
  const deployment = await makeDeployment(port)
  const signaller = await startSignaller(deployment, { port })
  const pid = signaller.proc.child.pid as number
  try {
    await sleep(3_000)
    const idle: number[] = []
    for (let i = 0; i < 8; i++) { idle.push(await rssMb(pid)); await sleep(250) }
    progress(`signaller alone: ${stats(idle).median.toFixed(0)} MB; connecting ${PEERS} light clients`)
    const clients = startProgram('light clients', 'bench/light-clients.ts', [`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${deployment.signallerId}`, NETWORK, String(PEERS)])
    try {
      await clients.waitFor(/^ready \d+$/, { timeout: 120_000 })
      await waitSubscribers(signaller, PEERS)
      const peers = (await healthz(signaller.http)).peers as number
      const samples: number[] = []
      const sample = async (ms: number): Promise<void> => {
        for (const end = performance.now() + ms; performance.now() < end; await sleep(250)) samples.push(await rssMb(pid))
      }
      await sample(5_000)
      const connected = stats(samples).median
      progress(`  ${peers} peers connected: ${connected.toFixed(0)} MB; each publishes ${PUBLISH_EACH} messages`)
      const from = clients.lines.length
      clients.write(`publish ${PUBLISH_EACH}\n`)
      const publishing = clients.waitFor(/^published.*$/, { from, timeout: 60_000 })
      let done = false
      void publishing.then(() => { done = true }, () => { done = true })
      while (!done) await sample(250)
      const published = (await publishing)[0]
      await sample(3_000)
      const s = stats(samples)
      const helper = await rssMb(clients.child.pid as number)
      const f = stats(idle)
      progress(`  median ${s.median.toFixed(0)} MB, max ${s.max.toFixed(0)} MB (${published}); the helper with ${PEERS} clients: ${helper.toFixed(0)} MB`)
      return [{
        name: `signaller RSS with ${PEERS} connected peers (light clients)`,
        unit: 'MB',
        median: s.median,
        p99: s.p99,
        max: s.max,
        samples: s.count,
        floor: { name: 'the same signaller with no peer', median: f.median, p99: f.p99, max: f.max },
        target: { text: '≤ 200 MB', met: s.max <= 200 },
        note: `VmRSS sampled every 250 ms: ${PEERS} light libp2p clients in one helper process connected and idle (median ${connected.toFixed(0)} MB), each publishing ${PUBLISH_EACH} × 1 KiB messages that the signaller forwards to the others, and 3 s after; the helper process itself: ${helper.toFixed(0)} MB`,
        detail: { peers, idleMb: connected, helperMb: helper, published }
      }]
    } finally {
      await clients.stop()
    }
  } finally {
    await signaller.proc.stop()
    await rm(deployment.dir, { recursive: true, force: true })
  }
}
