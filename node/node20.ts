/**
 * The two gaps of Node 20 that libp2p 3 falls into, filled in one place.
 *
 * - `Promise.withResolvers` (ES2024) is used by @libp2p/utils streams, yamux and it-queue.
 * - A global `WebSocket` is what @libp2p/websockets dials with; Node 22 has one, Node 20 only
 *   behind `--experimental-websocket`, so the `ws` package stands in.
 *
 * Import this module first in every Node entry point. On Node 22+ it changes nothing.
 */
import { WebSocket as WsWebSocket } from 'ws'

interface PromiseWithResolversPolyfill {
  withResolvers?: <T>() => { promise: Promise<T>, resolve: (value: T | PromiseLike<T>) => void, reject: (reason?: unknown) => void }
}

const promiseCtor = Promise as unknown as PromiseWithResolversPolyfill
promiseCtor.withResolvers ??= function withResolvers<T> () {
  let resolve!: (value: T | PromiseLike<T>) => void
  let reject!: (reason?: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

// `ws` implements the browser WebSocket surface that @libp2p/websockets uses (binaryType,
// addEventListener, send, close, bufferedAmount); the cast is the one place the two types meet.
globalThis.WebSocket ??= WsWebSocket as unknown as typeof globalThis.WebSocket
