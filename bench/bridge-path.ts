/**
 * A diagnostic, not a figure of `npm run bench`: what the engine worker alone costs on the UDP
 * bridge's way in, for `send(assert(tp(N, "…")))` datagrams of 64 B, 1 KiB and 16 KiB terms, in
 * batches of BATCH as the bridge hands them over under load. Two worker calls per batch, as
 * node-peer/udp-bridge.ts and node-peer/node-peer.ts make them: decodeUdp (SWI-Prolog reads each
 * datagram, the term comes back to JavaScript) and p2p_kb:kb_update_all/2 (the terms go back into
 * Prolog and are asserted; the engine reports each new clause to onKbChange). No network, no
 * store: the ceiling the engine puts on the bridge's events per second.
 *
 *   node --import tsx bench/bridge-path.ts [BATCH] [BATCHES]
 */
import '../node/node20.ts'
import { readFile } from 'node:fs/promises'
import { apartVariables, atom, compound, variable } from '../core/wire/term.ts'
import { textNesting } from '../core/engine/text-nesting.ts'
import { createNodeEngine } from '../node-peer/engine-host.ts'
import type { Term } from '../core/wire/term.ts'

const BATCH = Number(process.argv[2] ?? 500)
const BATCHES = Number(process.argv[3] ?? 20)

let reported = 0
const engine = await createNodeEngine({ onKbChange: () => { reported++ }, onOutput: () => {} })
await engine.consult(await readFile(new URL('./bench_peer.pl', import.meta.url), 'utf8'), { source: 'bench/bench_peer.pl' })

let n = 0
for (const bytes of [64, 1024, 16 * 1024]) {
  let decodeMs = 0
  let updateMs = 0
  let nestingMs = 0
  for (let b = 0; b < BATCHES + 2; b++) {
    const texts = Array.from({ length: BATCH }, () => {
      const head = `tp(${1_000_000_000 + n++},"`
      return `%-prolog-\nsend(assert(${head}${'x'.repeat(Math.max(0, bytes - head.length - 2))}")))`
    })
    let t = performance.now()
    for (const text of texts) textNesting(text)
    const nesting = performance.now() - t
    t = performance.now()
    const decoded = await engine.decodeUdp(texts)
    const decode = performance.now() - t
    const changes = decoded.map(d => ('error' in d) ? atom('bad') : (d.term as Term))
    t = performance.now()
    const apart = apartVariables(changes)
    const goal = compound(':', atom('p2p_kb'), compound('kb_update_all', apart.terms, variable(apart.next)))
    for await (const answer of engine.query(goal, { sandbox: false })) {
      if (answer.status !== 'success') throw new Error(JSON.stringify(answer))
      break
    }
    const update = performance.now() - t
    if (b >= 2) { decodeMs += decode; updateMs += update; nestingMs += nesting }
  }
  const events = BATCH * BATCHES
  const perEvent = (ms: number): string => `${(1000 * ms / events).toFixed(1)} µs`
  console.log(`${bytes} B terms, batches of ${BATCH}: decodeUdp ${perEvent(decodeMs)} an event (of which textNesting ${perEvent(nestingMs)}), kb_update_all ${perEvent(updateMs)}; ceiling ${Math.round(events / ((decodeMs + updateMs) / 1000))} events/s`)
}
console.log(`(${reported} changes reported)`)
await engine.close()
