/**
 * Stopping goals: by signal, by timeout, by inference limit, and by replacing a worker that does
 * not respond; the engine keeps its consulted programs and listen handlers through all of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { atom, compound, variable } from '../../core/wire/term.ts'
import { createNodeEngine } from '../../node-peer/engine-host.ts'
import { bindingsOf, elapsed, errorOf, take } from './helpers.ts'
import type { Engine } from '../../core/engine/engine.ts'
import type { Term } from '../../core/wire/term.ts'

let engine: Engine
const restarts: string[] = []
const unsandboxed = { sandbox: false }

beforeAll(async () => {
  engine = await createNodeEngine({ onOutput: () => {}, onRestart: reason => { restarts.push(reason) } })
  await engine.consult([
    ':- use_module(library(broadcast)).',
    ':- listen(number(X), between(1, 5, X)).',
    'program_loaded(yes).'
  ].join('\n'), { source: 'program' })
})

afterAll(async () => { await engine.close() })

async function programIsThere (): Promise<void> {
  expect(await bindingsOf(engine.queryText('program_loaded(X)'))).toStrictEqual([{ X: atom('yes') }])
  const terms: Term[] = []
  for await (const term of engine.request(compound('number', variable(0)))) terms.push(term)
  expect(terms).toHaveLength(5)
}

describe('soft stop', () => {
  it('stops repeat, fail within 1 s of the abort; the engine answers the next query', async () => {
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 200)
    const { value, ms } = await elapsed(async () => await take(engine.queryText('repeat, fail', { ...unsandboxed, signal: controller.signal })).catch((err: Error) => err))
    expect(value).toMatchObject({ name: 'AbortError' })
    expect(ms - 200).toBeLessThan(1_000)
    await programIsThere()
    expect(restarts).toStrictEqual([])
  })

  it('stops a sandboxed goal at its timeout with EngineTimeoutError', async () => {
    const { value, ms } = await elapsed(async () => await errorOf(engine.queryText('repeat, fail', { timeout: 300 })))
    expect(value).toMatchObject({ name: 'EngineTimeoutError', timeout: 300 })
    expect(ms).toBeLessThan(1_300)
    await programIsThere()
    expect(restarts).toStrictEqual([])
  })

  it('returning the generator between answers closes the query', async () => {
    const answers = engine.query(compound('between', 1n, atom('inf'), variable(0)))
    await answers.next()
    await answers.return(undefined)
    expect(await answers.next()).toStrictEqual({ done: true, value: undefined })
  })
})

describe('inference limit', () => {
  it('gives InferenceLimitError for an answer that needs more inferences', async () => {
    const error = await errorOf(engine.queryText('numlist(1, 100000, L), sum_list(L, S)', { inferenceLimit: 10_000 }))
    expect(error).toMatchObject({ name: 'InferenceLimitError', limit: 10_000 })
  })

  it('applies per answer', async () => {
    expect(await bindingsOf(engine.queryText('between(1, 3, X)', { inferenceLimit: 100 }))).toHaveLength(3)
  })

  it('applies to sandboxed goals by default', async () => {
    const slow = await createNodeEngine({ onOutput: () => {}, inferenceLimit: 50_000 })
    try {
      expect(await errorOf(slow.queryText('repeat, fail'))).toMatchObject({ name: 'InferenceLimitError', limit: 50_000 })
    } finally {
      await slow.close()
    }
  })
})

describe('hard stop: the worker is replaced', () => {
  it('when a goal disabled the heartbeat', async () => {
    const { value, ms } = await elapsed(async () => await errorOf(engine.queryText('set_prolog_flag(heartbeat, 0), repeat, fail', { ...unsandboxed, timeout: 300 })))
    expect(value).toMatchObject({ name: 'EngineTimeoutError' })
    expect(ms).toBeLessThan(2_000)
    await programIsThere()
    expect(restarts).toHaveLength(1) // onRestart comes once the new worker is ready
  })

  it('when a sandboxed goal is stuck in a long foreign call (a huge power)', async () => {
    const waiting = engine.query(compound('between', 1n, atom('inf'), variable(0)))
    await waiting.next()
    const error = await errorOf(engine.queryText('X is 7^200000000', { timeout: 300 }))
    expect(error).toMatchObject({ name: 'EngineTimeoutError' })
    expect((await waiting.next()).value).toMatchObject({ status: 'error', error: { name: 'EngineStoppedError' } })
    await programIsThere()
    expect(restarts).toHaveLength(2)
  })

  it('when an abort meets a goal that ignores it', async () => {
    const controller = new AbortController()
    setTimeout(() => { controller.abort() }, 200)
    const outcome = await take(engine.queryText('set_prolog_flag(heartbeat, 0), repeat, fail', { ...unsandboxed, signal: controller.signal })).catch((err: Error) => err)
    expect(outcome).toMatchObject({ name: 'AbortError' })
    await programIsThere()
    expect(restarts).toHaveLength(3)
  })

  it('when the worker dies (halt/0)', async () => {
    const error = await errorOf(engine.queryText('halt', unsandboxed))
    expect(error).toMatchObject({ name: 'EngineStoppedError' })
    await programIsThere()
  })
})

describe('close', () => {
  it('ends open queries and refuses new ones with EngineStoppedError', async () => {
    const closing = await createNodeEngine({ onOutput: () => {} })
    const open = closing.query(compound('between', 1n, atom('inf'), variable(0)))
    await open.next()
    await closing.close()
    expect((await open.next()).value).toMatchObject({ status: 'error', error: { name: 'EngineStoppedError' } })
    await expect(take(closing.query(atom('true')))).rejects.toMatchObject({ name: 'EngineStoppedError' })
  })
})
