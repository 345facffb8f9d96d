/**
 * The engine's errors. Matched by `err.name`, which survives bundling and the worker boundary:
 * the worker sends {@link SerializedError} and the host rebuilds the class with {@link deserializeError}.
 */
import type { Term } from '../wire/term.ts'

/** Why a term could not cross between Prolog and JavaScript. */
export type TermConversionReason =
  | 'too-deep'       // more nesting than maxDepth
  | 'cyclic'         // a cyclic Prolog term
  | 'blob'           // a stream, clause reference, JavaScript object, ...
  | 'dict'           // SWI-Prolog dicts have no place in the term model
  | 'bad-text'       // a lone surrogate: no Prolog text holds one
  | 'non-canonical'  // a term with another, canonical form ('[|]'(H, T), [a|[b]], 2r4, ...)
  | 'not-a-term'     // a JavaScript value outside the model

/** A Prolog exception: `term` is the ISO error term, `message` the text SWI-Prolog prints for it. */
export class PrologError extends Error {
  static override name = 'PrologError'
  readonly term: Term

  constructor (message: string, term: Term, options?: ErrorOptions) {
    super(message, options)
    this.name = 'PrologError'
    this.term = term
  }
}

/** library(sandbox) refused the goal or program: `term` is its error, `message` SWI-Prolog's text. */
export class SandboxError extends Error {
  static override name = 'SandboxError'
  readonly term: Term

  constructor (message: string, term: Term, options?: ErrorOptions) {
    super(message, options)
    this.name = 'SandboxError'
    this.term = term
  }
}

/** An answer took longer than its wall-clock limit; the goal was stopped. */
export class EngineTimeoutError extends Error {
  static override name = 'EngineTimeoutError'
  readonly timeout: number

  constructor (timeout: number) {
    super(`no answer within ${timeout} ms`)
    this.name = 'EngineTimeoutError'
    this.timeout = timeout
  }
}

/** An answer needed more inferences than its limit; the goal was stopped. */
export class InferenceLimitError extends Error {
  static override name = 'InferenceLimitError'
  readonly limit: number

  constructor (limit: number) {
    super(`inference limit of ${limit} exceeded`)
    this.name = 'InferenceLimitError'
    this.limit = limit
  }
}

/** The engine was closed, or its worker was replaced while this call was running. */
export class EngineStoppedError extends Error {
  static override name = 'EngineStoppedError'

  constructor (message = 'the engine is closed') {
    super(message)
    this.name = 'EngineStoppedError'
  }
}

/** A term that cannot cross between Prolog and JavaScript exactly. */
export class TermConversionError extends Error {
  static override name = 'TermConversionError'
  readonly reason: TermConversionReason

  constructor (reason: TermConversionReason, message: string) {
    super(message)
    this.name = 'TermConversionError'
    this.reason = reason
  }
}

export type EngineError =
  | PrologError | SandboxError | EngineTimeoutError | InferenceLimitError | EngineStoppedError | TermConversionError

/** An engine error as plain data, for postMessage. */
export type SerializedError =
  | { name: 'PrologError' | 'SandboxError', message: string, term: Term }
  | { name: 'EngineTimeoutError' | 'InferenceLimitError', limit: number }
  | { name: 'EngineStoppedError', message: string }
  | { name: 'TermConversionError', reason: TermConversionReason, message: string }

export function serializeError (err: EngineError): SerializedError {
  if (err instanceof PrologError) return { name: 'PrologError', message: err.message, term: err.term }
  if (err instanceof SandboxError) return { name: 'SandboxError', message: err.message, term: err.term }
  if (err instanceof EngineTimeoutError) return { name: 'EngineTimeoutError', limit: err.timeout }
  if (err instanceof InferenceLimitError) return { name: 'InferenceLimitError', limit: err.limit }
  if (err instanceof TermConversionError) return { name: 'TermConversionError', reason: err.reason, message: err.message }
  return { name: 'EngineStoppedError', message: err.message }
}

export function deserializeError (data: SerializedError): EngineError {
  switch (data.name) {
    case 'PrologError': return new PrologError(data.message, data.term)
    case 'SandboxError': return new SandboxError(data.message, data.term)
    case 'EngineTimeoutError': return new EngineTimeoutError(data.limit)
    case 'InferenceLimitError': return new InferenceLimitError(data.limit)
    case 'TermConversionError': return new TermConversionError(data.reason, data.message)
    case 'EngineStoppedError': return new EngineStoppedError(data.message)
  }
}
