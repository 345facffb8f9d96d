/**
 * network/1,2 in the engine: two real engines, where the first one's network is itself and the
 * second (each runs the goal as a goal from the network), as the peer wires it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodeEngine } from '../../node-peer/engine-host.ts'
import { bindingsOf, elapsed, errorOf } from './helpers.ts'
import type { Engine } from '../../core/engine/engine.ts'
import type { NetworkQueryOptions } from '../../core/engine/network-queries.ts'
import type { Term } from '../../core/wire/term.ts'

let asker: Engine
let remote: Engine
/** What the asker's network was asked, and how each ask ended. */
const asked: Array<{ goal: Term, options: NetworkQueryOptions }> = []
/** Goals whose ask yields this many answers and then hangs until its signal aborts. */
let hangAfter: number | undefined

async function * runOn (engine: Engine, goal: Term, signal: AbortSignal): AsyncGenerator<Term> {
  for await (const answer of engine.query(goal, { fromNetwork: true, signal })) {
    if (answer.status === 'success') yield answer.goal
  }
}

async function * network (goal: Term, options: NetworkQueryOptions): AsyncGenerator<Term> {
  asked.push({ goal, options })
  let sent = 0
  for (const engine of [asker, remote]) {
    for await (const answer of runOn(engine, goal, options.signal)) {
      if (hangAfter !== undefined && sent === hangAfter) break
      yield answer
      sent++
    }
  }
  if (hangAfter !== undefined) await new Promise(resolve => options.signal.addEventListener('abort', resolve, { once: true }))
}

beforeAll(async () => {
  [asker, remote] = await Promise.all([
    createNodeEngine({ onNetworkQuery: network, onOutput: () => {} }),
    createNodeEngine({ onOutput: () => {} })
  ])
  await asker.consult('load(asker, 1).')
  await remote.consult('load(remote, 2).\nload(remote, 3).')
})

afterAll(async () => { await Promise.all([asker.close(), remote.close()]) })

const lastAsk = (): { goal: Term, options: NetworkQueryOptions } => asked[asked.length - 1]

describe('network/1,2', () => {
  it('enumerates the answers of every peer, in a sandboxed console query', async () => {
    hangAfter = undefined
    const bindings = await bindingsOf(asker.queryText('findall(P-L, network(load(P, L), [timeout(0.5)]), All), msort(All, Sorted)'))
    expect(bindings.map(b => b.Sorted)).toEqual([[
      { functor: '-', args: [{ atom: 'asker' }, 1n] },
      { functor: '-', args: [{ atom: 'remote' }, 2n] },
      { functor: '-', args: [{ atom: 'remote' }, 3n] }
    ]])
    expect(lastAsk().options).toMatchObject({ timeout: 500, limit: 1000 })
  })

  it('binds the goal\'s variables answer by answer, on backtracking', async () => {
    hangAfter = undefined
    const bindings = await bindingsOf(asker.queryText('network(load(remote, N), [timeout(0.5)])'))
    expect(bindings.map(b => b.N)).toEqual([2n, 3n])
  })

  it('stops the ask on every peer when the caller cuts', async () => {
    hangAfter = 1
    const { value, ms } = await elapsed(async () => await bindingsOf(asker.queryText('once(network(load(P, _), [timeout(10)]))')))
    expect(value.map(b => b.P)).toEqual([{ atom: 'asker' }])
    expect(ms).toBeLessThan(5_000)
    await until(() => lastAsk().options.signal.aborted)
  })

  it('stops the ask when the query is stopped while it waits', async () => {
    hangAfter = 0
    const stop = new AbortController()
    const before = asked.length
    const answers = asker.queryText('network(load(_, _), [timeout(10)])', { signal: stop.signal })
    const pending = answers.next()
    await until(() => asked.length > before)
    stop.abort()
    await expect(pending).rejects.toBeDefined()
    await until(() => lastAsk().options.signal.aborted)
  })

  it('ends with no more answers when the timeout passes', async () => {
    hangAfter = 0
    const { value, ms } = await elapsed(async () => await bindingsOf(asker.queryText('\\+ network(load(_, _), [timeout(0.3)])')))
    expect(value).toHaveLength(1)
    expect(ms).toBeGreaterThanOrEqual(250)
  })

  it('refuses a goal that the sandbox refuses, before it reaches the network', async () => {
    const before = asked.length
    const error = await errorOf(asker.queryText('network(shell(ls))'))
    expect(error.message).toMatch(/No permission to call sandboxed/)
    expect(asked.length).toBe(before)
  })

  it('sends a goal whose predicate only other peers know', async () => {
    hangAfter = undefined
    await remote.consult('only_remote(yes).')
    const bindings = await bindingsOf(asker.queryText('network(only_remote(X), [timeout(0.5)])'))
    expect(bindings.map(b => b.X)).toEqual([{ atom: 'yes' }])
  })

  it('is refused to a goal from the network, so that a query cannot fan out again', async () => {
    const error = await errorOf(asker.queryText('network(load(_, _))', { fromNetwork: true }))
    expect(error.message).toMatch(/No permission to call network/)
  })

  it('checks its arguments with must_be/2', async () => {
    expect((await errorOf(asker.queryText('network(_)'))).message).toMatch(/not sufficiently instantiated/i)
    expect((await errorOf(asker.queryText('network(p, [timeout(0)])'))).message).toMatch(/positive_number/)
    expect((await errorOf(asker.queryText('network(p, [limit(a)])'))).message).toMatch(/Type error/)
  })
})

async function until (condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting for the condition')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
