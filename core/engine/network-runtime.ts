/**
 * The worker's side of network/1,2 (p2p_network.pl): it hands the queries Prolog opened and closed
 * to the host, puts the answers the host sends into Prolog, and wakes the query waiting for them.
 *
 * A query waits with `await(p2p_network_wait(Handle), _)`: the job hands the term to `wait`, whose
 * promise settles when answers (or the end) for Handle arrive. Answers arrive only between time
 * slices, so a query that found none has always yielded before any can come.
 */
import { TermConversionError } from './errors.ts'
import { inFrame, PL } from './swipl.ts'
import type { TermConverter } from './convert.ts'
import type { HostMessage, WorkerMessage } from './protocol.ts'
import type { Swipl } from './swipl.ts'
import type { Compound, Term } from '../wire/term.ts'

export interface NetworkHost {
  readonly pl: Swipl
  readonly convert: TermConverter
  /** Handles of p2p_network's take_network_calls/1 and network_deliver/3. */
  readonly predicates: { take: number, deliver: number }
}

export interface NetworkRuntime {
  /** Posts the queries opened and closed since the last call. */
  drain (post: (message: WorkerMessage) => void): void
  deliver (message: Extract<HostMessage, { type: 'network-answers' }>): void
  /** The promise await/2 waits on for `p2p_network_wait(Handle)`; undefined for other terms. */
  wait (request: Term): Promise<void> | undefined
}

const CALL_FLAGS = PL.Q_NODEBUG | PL.Q_CATCH_EXCEPTION

export function networkRuntime (host: NetworkHost): NetworkRuntime {
  const { pl, convert, predicates } = host
  const waiting = new Map<number, () => void>()

  const call = (predicate: number, args: number, name: string): void => {
    if (pl._PL_call_predicate(0, CALL_FLAGS, predicate, args) === 0) throw new Error(`p2p_network:${name} failed`)
  }

  const deliver = (handle: number, answers: Term[], done: boolean): void => {
    inFrame(pl, () => {
      const args = pl._PL_new_term_refs(3)
      convert.put(args, BigInt(handle))
      convert.put(args + 1, answers)
      convert.put(args + 2, { atom: String(done) })
      call(predicates.deliver, args, 'network_deliver/3')
    })
    const wake = waiting.get(handle)
    waiting.delete(handle)
    wake?.()
  }

  /** open(Handle, Goal, TimeoutMs, Limit) or close(Handle) as a message; a goal that will not convert ends its query. */
  const outbound = (ref: number, post: (message: WorkerMessage) => void): void => {
    let call: Compound
    try {
      call = convert.get(ref) as Compound
    } catch (err) {
      if (!(err instanceof TermConversionError)) throw err
      const handle = pl._PL_new_term_ref()
      pl._PL_get_arg(1, ref, handle)
      post({ type: 'output', text: `p2p: network/1: the goal cannot be sent: ${err.message}\n`, stream: 'stderr' })
      deliver(Number(convert.get(handle)), [], true)
      return
    }
    const [handle, goal, timeout, limit] = call.args
    if (call.functor === 'close') post({ type: 'network-close', handle: Number(handle) })
    else post({ type: 'network-open', handle: Number(handle), goal, timeout: Number(timeout), limit: Number(limit) })
  }

  return {
    drain (post) {
      inFrame(pl, () => {
        const list = pl._PL_new_term_ref()
        call(predicates.take, list, 'take_network_calls/1')
        const head = pl._PL_new_term_ref()
        while (pl._PL_get_list(list, head, list) !== 0) outbound(head, post)
      })
    },
    deliver: ({ handle, answers, done }) => { deliver(handle, answers, done) },
    wait (request) {
      const handle = waitHandle(request)
      if (handle === undefined) return undefined
      return new Promise<void>(resolve => { waiting.set(handle, resolve) })
    }
  }
}

function waitHandle (request: Term): number | undefined {
  if (typeof request !== 'object' || request === null || !('functor' in request)) return undefined
  if (request.functor !== 'p2p_network_wait' || request.args.length !== 1 || typeof request.args[0] !== 'bigint') return undefined
  return Number(request.args[0])
}
