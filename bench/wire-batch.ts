/**
 * Encoding and decoding a full batch: 1,000 events of about 1 KiB each (the most a default 1 MiB
 * batch holds), timed over many runs.
 */
import { decodeBatch, encodeBatch } from '../core/wire/event.ts'
import { encodeTerm } from '../core/wire/term-codec.ts'
import { atom, compound, int } from '../core/wire/term.ts'
import type { Figure } from './figure.ts'
import type { WireEvent } from '../core/wire/event.ts'
import type { Term } from '../core/wire/term.ts'

const RUNS = 100
const EVENTS = 1_000

/** About 120 nodes in 880 bytes: atoms, integers, floats, strings and lists, mostly small. */
const denseTerm = compound('readings', Array.from({ length: 13 }, (_, i) =>
  compound('reading', atom(`sensor_${i}`), int(i), 21.5 + i, 'a note about this reading', [atom('a'), atom('b'), int(1_000_000)])))

/** A fact with one 880-character string. */
const textTerm = compound('note', atom('kitchen'), 'x'.repeat(880))

function events (term: Term): WireEvent[] {
  return Array.from({ length: EVENTS }, (_, i) => ({
    kind: 'message',
    id: Uint8Array.from({ length: 16 }, (_, j) => (i + j) & 0xff),
    hlc: { wall: 1_732_380_000_000 + i, counter: 0 },
    origin: '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq',
    term
  }))
}

function timeMs (run: () => void): { median: number, p99: number, max: number } {
  for (let i = 0; i < 10; i++) run()
  const times: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now()
    run()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return { median: times[Math.floor(RUNS / 2)], p99: times[Math.min(RUNS - 1, Math.floor(RUNS * 0.99))], max: times[RUNS - 1] }
}

/** Encode and decode figures for a full batch of dense terms and of text terms. */
export function wireBatch (): Figure[] {
  return [['dense', denseTerm], ['text', textTerm]].flatMap(([name, term]) => {
    const all = events(term as Term)
    const batch = encodeBatch(all)
    const label = `1,000 × ${encodeTerm(term as Term).length} B ${String(name)} terms, batch ${Math.round(batch.length / 1024)} KiB`
    return [
      // Copies: an event encoded once keeps its bytes, and a second encoding would only copy them.
      { name: `encodeBatch ${label}`, unit: 'ms', ...timeMs(() => encodeBatch(all.map(event => ({ ...event })))) },
      { name: `decodeBatch ${label}`, unit: 'ms', ...timeMs(() => decodeBatch(batch)) }
    ]
  })
}
