/**
 * A hybrid logical clock (Kulkarni et al., 2014): wall-clock milliseconds plus a counter, so
 * that timestamps follow causality (a received event's time is never ahead of the next local
 * one) while staying close to real time. Pure functions over plain values: the caller passes the
 * current time in.
 */
import type { Hlc } from '../wire/event.ts'

/** How far ahead of our own clock a remote timestamp may be before it is refused. */
export const MAX_CLOCK_DRIFT_MS = 60_000

export const ZERO_HLC: Hlc = { wall: 0, counter: 0 }

/** The timestamp of a new local event. */
export function tick (last: Hlc, nowMs: number): Hlc {
  if (nowMs > last.wall) return { wall: nowMs, counter: 0 }
  return { wall: last.wall, counter: last.counter + 1 }
}

/** The clock after receiving `remote`; a remote time too far ahead is not taken over. */
export function receive (last: Hlc, remote: Hlc, nowMs: number): Hlc {
  if (remote.wall > nowMs + MAX_CLOCK_DRIFT_MS) return tick(last, nowMs)
  const wall = Math.max(last.wall, remote.wall, nowMs)
  if (wall === last.wall && wall === remote.wall) return { wall, counter: Math.max(last.counter, remote.counter) + 1 }
  if (wall === last.wall) return { wall, counter: last.counter + 1 }
  if (wall === remote.wall) return { wall, counter: remote.counter + 1 }
  return { wall, counter: 0 }
}

export function compareHlc (a: Hlc, b: Hlc): number {
  return a.wall - b.wall || a.counter - b.counter
}

export function isTooFarAhead (remote: Hlc, nowMs: number): boolean {
  return remote.wall > nowMs + MAX_CLOCK_DRIFT_MS
}

/** A peer's clock: the pure functions above around one mutable timestamp. */
export interface Clock {
  /** The timestamp of a new local event. */
  stamp (): Hlc
  /** Takes a received timestamp into account. */
  observe (remote: Hlc): void
}

export function createClock (now: () => number): Clock {
  let last: Hlc = ZERO_HLC
  return {
    stamp: () => (last = tick(last, now())),
    observe: (remote) => { last = receive(last, remote, now()) }
  }
}
