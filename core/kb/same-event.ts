/**
 * Whether two kb events are the same event, field by field. A replica uses it to tell a
 * duplicate (harmless, the common case under gossip plus sync) from a second, different event
 * under an (origin, seq) that is already taken (an equivocating or broken origin).
 */
import type { KbEvent } from '../wire/event.ts'
import type { Term } from '../wire/term.ts'

export function sameEvent (a: KbEvent, b: KbEvent): boolean {
  if (a.origin !== b.origin || a.seq !== b.seq || !sameBytes(a.id, b.id)) return false
  if (a.hlc.wall !== b.hlc.wall || a.hlc.counter !== b.hlc.counter) return false
  if (a.kind === 'assert') return b.kind === 'assert' && a.front === b.front && sameTerm(a.clause, b.clause)
  return b.kind === 'retract' && a.ids.length === b.ids.length && a.ids.every((id, i) => sameBytes(id, b.ids[i]))
}

export function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Structural equality of terms (plain data). Object.is tells -0.0 from 0.0 and finds NaN equal to
 * itself, as the wire does (they are different floats there). Iterative: a term may nest 1,000 deep.
 */
export function sameTerm (a: Term, b: Term): boolean {
  const pending: unknown[] = [a, b]
  while (pending.length > 0) {
    const y = pending.pop()
    const x = pending.pop()
    if (Object.is(x, y)) continue
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false
    if (Array.isArray(x) !== Array.isArray(y)) return false
    const keys = Object.keys(x)
    if (keys.length !== Object.keys(y).length) return false
    for (const key of keys) {
      if (!Object.hasOwn(y, key)) return false
      pending.push((x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key])
    }
  }
  return true
}
