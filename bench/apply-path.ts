/**
 * A diagnostic, not a figure of `npm run bench`: the receiving half of the replica path in one
 * process, without the network, to tell what it costs from what the network costs. Remote assert
 * events of `lat(N, T)` are handed to core/knowledge.ts's remote() at a steady RATE (as gossipsub
 * delivers one event per message at 200/s), with a real store (fsync on) and a real engine
 * whose bench_peer.pl stamps each clause when it is asserted. Two ways of calling it:
 *
 * - as the node peer does (core/peer.ts → knowledge.remote(events) for every batch), and
 * - the same with a store that does not fsync (what the fsync of every append costs), and
 * - coalesced: while one remote() call is in flight, the events that arrive meanwhile wait and
 *   go together in the next call (one store write and one engine call for all of them).
 *
 *   node --import tsx bench/apply-path.ts [RATE] [COUNT]
 */
import '../node/node20.ts'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClock } from '../core/kb/clock.ts'
import { Replica } from '../core/kb/replica.ts'
import { createKnowledge } from '../core/knowledge.ts'
import { openEventStore } from '../core/store/event-store.ts'
import { newEventId } from '../core/wire/event.ts'
import { compound } from '../core/wire/term.ts'
import { createNodeEngine } from '../node-peer/engine-host.ts'
import { nowMicros, paced, sleep, stats } from './support.ts'
import type { KbEvent } from '../core/wire/event.ts'

const RATE = Number(process.argv[2] ?? 200)
const COUNT = Number(process.argv[3] ?? 1000)
const ORIGIN = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'

async function run (coalesce: boolean, sync = true): Promise<{ median: number, p99: number, max: number, calls: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-prolog-apply-'))
  const delays: number[] = []
  const engine = await createNodeEngine({
    onOutput: (text) => {
      for (const m of text.matchAll(/^applied lat (\d+) (\d+) (\d+)$/gm)) delays.push((Number(m[3]) - Number(m[2])) / 1000)
    }
  })
  await engine.consult(await readFile(new URL('./bench_peer.pl', import.meta.url), 'utf8'), { source: 'bench/bench_peer.pl' })
  const store = await openEventStore(join(dir, 'events'), { sync })
  const knowledge = createKnowledge({ origin: 'me', clock: createClock(Date.now), replica: new Replica(), store, engine })
  await knowledge.start()
  let calls = 0
  let queued: KbEvent[] = []
  let busy = false
  const deliver = (event: KbEvent): void => {
    if (!coalesce) { calls++; void knowledge.remote([event]); return }
    queued.push(event)
    if (busy) return
    busy = true
    void (async () => {
      while (queued.length > 0) {
        const events = queued
        queued = []
        calls++
        await knowledge.remote(events)
      }
      busy = false
    })()
  }
  await paced(COUNT, RATE, i => {
    deliver({ kind: 'assert', id: newEventId(), hlc: { wall: Date.now(), counter: 0 }, origin: ORIGIN, seq: i + 1, front: false, clause: compound('lat', BigInt(i), BigInt(nowMicros())) })
  })
  for (let waited = 0; delays.length < COUNT && waited < 60_000; waited += 50) await sleep(50)
  await knowledge.settled()
  await engine.close()
  await store.close()
  await rm(dir, { recursive: true, force: true })
  const s = stats(delays.slice(50))
  return { median: s.median, p99: s.p99, max: s.max, calls }
}

for (const [coalesce, sync] of [[false, true], [false, false], [true, true]]) {
  const r = await run(coalesce, sync)
  console.log(`${coalesce ? 'coalesced' : 'as the node peer does'}${sync ? '' : ', store without fsync'}: ${COUNT} events at ${RATE}/s → applied in the engine after median ${r.median.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms (${r.calls} remote() calls)`)
}
