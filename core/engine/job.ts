/**
 * One job of the worker: a goal running as a yieldable query in a Prolog engine of its own, so
 * that any number of jobs can be open at once and each waits, between answers, without holding
 * the others up.
 *
 * A job computes only when asked: `run` goes on until the next answer, the end, or its deadline.
 * The goal's engine yields at every heartbeat (HEARTBEAT_INFERENCES inferences); before the
 * deadline the job resumes at once, after it the job pauses and the runtime serves its messages
 * and the other jobs. `close` cuts the query wherever it stands (paused at a heartbeat, waiting
 * for `next`, awaiting a promise): cleanup handlers run and the engine is destroyed.
 */
import { EngineStoppedError, InferenceLimitError, PrologError, SandboxError, TermConversionError, serializeError } from './errors.ts'
import { inFrame, PL, withEngine } from './swipl.ts'
import type { TermConverter } from './convert.ts'
import type { EngineError } from './errors.ts'
import type { AnswerData, Goal, RunOptions, WorkerMessage } from './protocol.ts'
import type { Swipl } from './swipl.ts'
import type { Atom, Compound, Term } from '../wire/term.ts'

/** Handles of the p2p_engine predicates the jobs call. */
export interface EnginePredicates {
  runGoal: number
  runText: number
  consultText: number
  errorInfo: number
}

export interface JobHost {
  readonly pl: Swipl
  readonly convert: TermConverter
  readonly predicates: EnginePredicates
  readonly heartbeat: number
  post (message: WorkerMessage): void
  /** The job can run again: a promise it awaited has settled. */
  wake (job: Job): void
  /** What await/2 of a compound term (not a JavaScript promise) waits for; undefined if nothing. */
  awaitTerm (request: Term): Promise<unknown> | undefined
}

/**
 * - `paused`: the deadline passed at a heartbeat; run again to go on.
 * - `answered`: an answer was posted; run again (after `next`) for the next one.
 * - `awaiting`: the goal awaits a promise (await/2); the host's `wake` says when to run again.
 * - `ended`: the job posted its last message and released its engine.
 */
export type RunOutcome = 'paused' | 'answered' | 'awaiting' | 'ended'

export interface Job {
  readonly id: number
  run (deadline: number): RunOutcome
  /** Ends the job wherever it stands; does nothing once it has ended. */
  close (): void
}

interface OpenQuery {
  qid: number
  args: number
  status: number
  answer: (last: boolean) => AnswerData
}

const QUERY_FLAGS = PL.Q_NODEBUG | PL.Q_CATCH_EXCEPTION | PL.Q_ALLOW_YIELD | PL.Q_EXT_STATUS
const CALL_FLAGS = PL.Q_NODEBUG | PL.Q_CATCH_EXCEPTION

/** Opens `goal` in a new engine; nothing runs until `run`. @throws TermConversionError */
export function openJob (host: JobHost, id: number, goal: Goal, options: RunOptions): Job {
  const { pl } = host
  const engine = pl._PL_create_engine(0)
  if (engine === 0) throw new EngineStoppedError('SWI-Prolog could not create an engine')
  let query: OpenQuery
  try {
    query = withEngine(pl, engine, () => openQuery(host, goal, options))
  } catch (err) {
    pl._PL_destroy_engine(engine)
    throw err
  }
  // What the pending yield gets when the goal resumes: "true" after a heartbeat, a promise's value.
  let resume: { value: unknown } | undefined
  let ended = false

  const release = (): void => {
    ended = true
    withEngine(pl, engine, () => pl._PL_cut_query(query.qid))
    pl._PL_destroy_engine(engine)
  }
  const job: Job = {
    id,
    run (deadline) {
      if (ended) return 'ended'
      const outcome = withEngine(pl, engine, () => step(deadline))
      if (outcome === 'ended') release()
      return outcome
    },
    close () {
      if (!ended) release()
    }
  }

  const step = (deadline: number): RunOutcome => {
    for (;;) {
      if (resume !== undefined) pl.prolog.set_yield_result(resume.value)
      resume = undefined
      const rc = pl._PL_next_solution(query.qid)
      if (rc !== PL.S_YIELD) return settled(rc)
      const request = pl._WASM_yield_request()
      if (isHeartbeat(host, request)) {
        resume = { value: 'true' }
        if (performance.now() >= deadline) return 'paused'
        continue
      }
      return awaitRequest(request)
    }
  }

  const awaitRequest = (request: number): RunOutcome => {
    const promise = pl._PL_term_type(request) === PL.TERM ? host.awaitTerm(host.convert.get(request)) : pl.prolog.toJSON(request)
    if (!isThenable(promise)) {
      resume = { value: { $error: 'the engine awaits promises and its own requests only' } }
      return 'paused'
    }
    const settle = (value: unknown): void => {
      if (ended) return
      resume = { value }
      host.wake(job)
    }
    promise.then(settle, (err: unknown) => { settle({ $error: String(err) }) })
    return 'awaiting'
  }

  const settled = (rc: number): RunOutcome => {
    switch (rc) {
      case PL.S_TRUE:
      case PL.S_LAST:
        return answered(rc === PL.S_LAST)
      case PL.S_FALSE:
        host.post({ type: 'fail', id })
        return 'ended'
      default:
        fail(exceptionError(host, pl._PL_exception(query.qid)))
        return 'ended'
    }
  }

  const answered = (last: boolean): RunOutcome => {
    const refusal = statusError(host, query.status, options)
    if (refusal !== undefined) {
      fail(refusal)
      return 'ended'
    }
    let answer: AnswerData
    try {
      answer = query.answer(last)
    } catch (err) {
      if (!(err instanceof TermConversionError)) throw err
      fail(err)
      return 'ended'
    }
    host.post({ type: 'answer', id, answer })
    return last ? 'ended' : 'answered'
  }

  const fail = (error: EngineError): void => { host.post({ type: 'error', id, error: serializeError(error) }) }
  return job
}

function openQuery (host: JobHost, goal: Goal, options: RunOptions): OpenQuery {
  const { pl, convert, predicates } = host
  const optionList = runOptionList(options, host.heartbeat)
  const open = (predicate: number, args: number): number => pl._PL_open_query(0, QUERY_FLAGS, predicate, args)
  switch (goal.kind) {
    case 'term': {
      const args = pl._PL_new_term_refs(3)
      const vars = convert.put(args, goal.goal)
      convert.put(args + 1, optionList)
      return { qid: open(predicates.runGoal, args), args, status: args + 2, answer: (last) => termAnswer(host, args, vars, last) }
    }
    case 'text': {
      const args = pl._PL_new_term_refs(4)
      convert.put(args, goal.text)
      convert.put(args + 1, optionList)
      return { qid: open(predicates.runText, args), args, status: args + 3, answer: (last) => textAnswer(host, args + 2, last) }
    }
    case 'consult': {
      const args = pl._PL_new_term_refs(4)
      convert.put(args, goal.text)
      convert.put(args + 1, { atom: goal.source })
      convert.put(args + 2, optionList)
      return { qid: open(predicates.consultText, args), args, status: args + 3, answer: (last) => ({ goal: { atom: 'true' }, bindings: {}, last }) }
    }
  }
}

function runOptionList (options: RunOptions, heartbeat: number): Term[] {
  const list: Term[] = [
    { functor: 'sandbox', args: [{ atom: String(options.sandbox) }] },
    { functor: 'heartbeat', args: [BigInt(heartbeat)] },
    { functor: 'from_network', args: [{ atom: String(options.fromNetwork === true) }] }
  ]
  if (options.inferenceLimit !== undefined) list.push({ functor: 'inference_limit', args: [BigInt(options.inferenceLimit)] })
  return list
}

/** The goal and its variables' values, converted together so that shared variables stay shared. */
function termAnswer (host: JobHost, goalRef: number, vars: Map<number, number>, last: boolean): AnswerData {
  const { pl, convert } = host
  return inFrame(pl, () => {
    const list = pl._PL_new_term_ref()
    pl._PL_put_nil(list)
    const numbers = [...vars.keys()]
    for (let i = numbers.length - 1; i >= 0; i--) pl._PL_cons_list(list, vars.get(numbers[i]) as number, list)
    pl._PL_cons_list(list, goalRef, list)
    const [goal, ...values] = convert.get(list) as Term[]
    const bindings: Record<string, Term> = {}
    numbers.forEach((n, i) => { bindings[String(n)] = values[i] })
    return { goal, bindings, last }
  })
}

/** answer(Goal, ['X' = Value, ...], Text) from run_text/4. */
function textAnswer (host: JobHost, answerRef: number, last: boolean): AnswerData {
  const [goal, pairs, text] = (host.convert.get(answerRef) as Compound).args
  const bindings: Record<string, Term> = {}
  for (const pair of pairs as Compound[]) bindings[(pair.args[0] as Atom).atom] = pair.args[1]
  return { goal, bindings, text: text as string, last }
}

/** The error a Status other than `true` stands for. */
function statusError (host: JobHost, statusRef: number, options: RunOptions): EngineError | undefined {
  const status = host.convert.get(statusRef)
  if (typeof status !== 'object' || status === null) return undefined
  if ('atom' in status) {
    return status.atom === 'inference_limit_exceeded' ? new InferenceLimitError(options.inferenceLimit ?? 0) : undefined
  }
  if (!('functor' in status)) return undefined
  if (status.functor === 'refused') return refusedError(host, statusRef)
  if (status.functor === 'errors') return loadErrors(status.args[0] as Term[])
  return undefined
}

function refusedError (host: JobHost, statusRef: number): EngineError {
  const { pl } = host
  return inFrame(pl, () => {
    const error = pl._PL_new_term_ref()
    pl._PL_get_arg(1, statusRef, error)
    const { term, message } = describeError(host, error)
    return new SandboxError(message, term)
  })
}

/** The errors consult_text/4 collected: error(Message, Text) each. */
function loadErrors (errors: Term[]): EngineError {
  const items = errors.map(e => (e as Compound).args)
  const message = items.map(([, text]) => text as string).join('\n')
  const sandboxed = items.find(([term]) => isSandboxRefusal(term))
  if (sandboxed !== undefined) return new SandboxError(message, sandboxed[0])
  return new PrologError(message, items[0][0])
}

/** error(permission_error(_, sandboxed, _), _), as library(sandbox) raises. */
function isSandboxRefusal (term: Term): boolean {
  if (typeof term !== 'object' || term === null || !('functor' in term) || term.functor !== 'error') return false
  const formal = term.args[0]
  return typeof formal === 'object' && formal !== null && 'functor' in formal && formal.functor === 'permission_error' &&
    formal.args.length === 3 && typeof formal.args[1] === 'object' && formal.args[1] !== null &&
    'atom' in formal.args[1] && formal.args[1].atom === 'sandboxed'
}

function exceptionError (host: JobHost, exception: number): EngineError {
  const { term, message } = describeError(host, exception)
  return new PrologError(message, term)
}

/** The error term as JavaScript (or its text, if it will not convert) and SWI-Prolog's message for it. */
function describeError (host: JobHost, error: number): { term: Term, message: string } {
  const { pl, convert, predicates } = host
  return inFrame(pl, () => {
    const args = pl._PL_new_term_refs(3)
    pl._PL_put_term(args, error)
    if (pl._PL_call_predicate(0, CALL_FLAGS, predicates.errorInfo, args) === 0) {
      return { term: { atom: 'unknown_error' }, message: 'an error SWI-Prolog could not describe' }
    }
    const message = convert.get(args + 2) as string
    try {
      return { term: convert.get(args + 1), message }
    } catch {
      return { term: message, message }
    }
  })
}

function isHeartbeat (host: JobHost, request: number): boolean {
  return host.pl._PL_term_type(request) === PL.ATOM && (host.convert.get(request) as { atom: string }).atom === 'beat'
}

function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
