/**
 * Appends events seq 1..count of `origin` to the store at `dir`, `batch` at a time, and prints
 * `acked <last seq>` after each append resolved: the test kills this process with SIGKILL at some
 * point and checks that every acknowledged event is in the store.
 *
 *   node --import tsx test/support/append-events.ts <dir> <origin> <count> <batch>
 */
import { openEventStore } from '../../core/store/event-store.ts'
import { atom, compound, newEventId } from '../../core/wire/index.ts'
import type { KbEvent } from '../../core/wire/index.ts'

const [dir, origin] = [process.argv[2], process.argv[3]]
const [count, batch] = [Number(process.argv[4]), Number(process.argv[5])]

function event (seq: number): KbEvent {
  return { kind: 'assert', id: newEventId(), hlc: { wall: Date.now(), counter: 0 }, origin, seq, front: false, clause: compound('n', atom('killed'), BigInt(seq)) }
}

const store = await openEventStore(dir)
console.log('open')
for (let from = 1; from <= count; from += batch) {
  const events = Array.from({ length: Math.min(batch, count - from + 1) }, (_, i) => event(from + i))
  await store.append(events)
  console.log(`acked ${events[events.length - 1].seq}`)
}
await store.close()
console.log('done')
