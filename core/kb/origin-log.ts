/**
 * One origin's kb events, indexed by sequence number (docs/kb.md, "Vectors, gaps and repair").
 *
 * An origin numbers its kb events 1, 2, 3, ... without gaps, but gossip loses and reorders them,
 * so a replica may hold 1..n and some events above a hole. The log keeps the contiguous prefix
 * 1..n in a dense array (the common case: compact, and `missing()` reads a slice of it) and the
 * events above the first hole in a map, moved into the array as the hole fills.
 */
import type { KbEvent } from '../wire/event.ts'

/** Missing sequence numbers `from`..`to` (inclusive) of one origin. */
export interface SeqRange { readonly from: number, readonly to: number }

export class OriginLog {
  /** Events 1..prefix.length: prefix[i] has seq i + 1. */
  private readonly prefix: KbEvent[] = []
  /** Events held above the first hole, by seq. */
  private readonly above = new Map<number, KbEvent>()
  /** The keys of `above` in ascending order, computed when asked for and dropped on change. */
  private sortedAbove: number[] | undefined
  private highestSeq = 0

  /** n such that every event 1..n is held. */
  get contiguous (): number {
    return this.prefix.length
  }

  /** The highest seq held (0 for none). */
  get highest (): number {
    return this.highestSeq
  }

  get (seq: number): KbEvent | undefined {
    return seq <= this.prefix.length ? this.prefix[seq - 1] : this.above.get(seq)
  }

  /** Holds an event whose seq is not held yet. */
  add (event: KbEvent): void {
    this.highestSeq = Math.max(this.highestSeq, event.seq)
    if (event.seq !== this.prefix.length + 1) {
      this.above.set(event.seq, event)
      this.sortedAbove = undefined
      return
    }
    this.prefix.push(event)
    if (this.above.size > 0) this.absorbAbove()
  }

  /** Appends to `out` the events held with seq above `n`, ascending. */
  eventsAfter (n: number, out: KbEvent[]): void {
    for (let seq = n + 1; seq <= this.prefix.length; seq++) out.push(this.prefix[seq - 1])
    for (const seq of this.aboveInOrder()) {
      if (seq > n) out.push(this.above.get(seq) as KbEvent)
    }
  }

  /** The holes below the highest seq held, ascending. */
  holes (): SeqRange[] {
    const holes: SeqRange[] = []
    let next = this.prefix.length + 1 // the lowest seq not known to be held
    for (const seq of this.aboveInOrder()) {
      if (seq > next) holes.push({ from: next, to: seq - 1 })
      next = seq + 1
    }
    return holes
  }

  /** A filled hole lets the events right above it join the prefix. */
  private absorbAbove (): void {
    let next = this.above.get(this.prefix.length + 1)
    if (next === undefined) return
    this.sortedAbove = undefined
    while (next !== undefined) {
      this.above.delete(next.seq)
      this.prefix.push(next)
      next = this.above.get(this.prefix.length + 1)
    }
  }

  private aboveInOrder (): readonly number[] {
    this.sortedAbove ??= [...this.above.keys()].sort((a, b) => a - b)
    return this.sortedAbove
  }
}
