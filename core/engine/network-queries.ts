/**
 * The host's side of network/1,2 for one worker: each `network-open` asks the network through
 * EngineInit.onNetworkQuery and streams the answers back as `network-answers`, until the answers
 * end, the timeout passes, MAX_NETWORK_ANSWERS came, or Prolog closes the query.
 */
import { MAX_NETWORK_ANSWERS } from './constants.ts'
import type { HostMessage } from './protocol.ts'
import type { NetworkCall } from './session.ts'
import type { Term } from '../wire/term.ts'

export interface NetworkQueryOptions {
  /** Ms the answers are collected. */
  timeout: number
  /** The most answers one peer sends. */
  limit: number
  /** Aborted when Prolog needs no more answers (a cut, a stopped query, a replaced worker). */
  signal: AbortSignal
}

/** Asks every peer, this one included, to run `goal` sandboxed; yields the instances as they arrive. */
export type NetworkQuery = (goal: Term, options: NetworkQueryOptions) => AsyncIterable<Term> | Iterable<Term>

export interface NetworkQueries {
  handle (call: NetworkCall): void
  /** Ends every open query quietly (the worker is gone). */
  closeAll (): void
}

export function networkQueries (ask: NetworkQuery | undefined, post: (message: HostMessage) => void, warn: (text: string) => void): NetworkQueries {
  const open = new Map<number, AbortController>()

  const run = async (handle: number, goal: Term, timeout: number, limit: number, closed: AbortSignal): Promise<void> => {
    const signal = AbortSignal.any([closed, AbortSignal.timeout(timeout)])
    let count = 0
    try {
      for await (const answer of ask?.(goal, { timeout, limit, signal }) ?? []) {
        if (closed.aborted) return
        post({ type: 'network-answers', handle, answers: [answer], done: false })
        if (++count >= MAX_NETWORK_ANSWERS) break
      }
    } catch (err) {
      if (!signal.aborted) warn(`p2p: network/1 failed: ${err instanceof Error ? err.message : String(err)}\n`)
    } finally {
      open.delete(handle)
      if (!closed.aborted) post({ type: 'network-answers', handle, answers: [], done: true })
    }
  }

  return {
    handle (call) {
      if (call.type === 'network-close') {
        open.get(call.handle)?.abort()
        open.delete(call.handle)
        return
      }
      const controller = new AbortController()
      open.set(call.handle, controller)
      void run(call.handle, call.goal, call.timeout, call.limit, controller.signal)
    },
    closeAll () {
      for (const controller of open.values()) controller.abort()
      open.clear()
    }
  }
}
