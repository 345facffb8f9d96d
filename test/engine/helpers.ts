/** Helpers of the engine tests. */
import type { Answer } from '../../core/engine/engine.ts'

/** Up to `max` answers of a query; leaving early closes it. */
export async function take (answers: AsyncGenerator<Answer>, max = Infinity): Promise<Answer[]> {
  const taken: Answer[] = []
  if (max <= 0) return taken
  for await (const answer of answers) {
    taken.push(answer)
    if (taken.length >= max) break
  }
  return taken
}

/** The successes' bindings, failing the test on an error answer. */
export async function bindingsOf (answers: AsyncGenerator<Answer>, max = Infinity): Promise<Array<Record<string, unknown>>> {
  return (await take(answers, max)).flatMap(answer => {
    if (answer.status === 'error') throw answer.error
    return answer.status === 'success' ? [answer.bindings] : []
  })
}

/** The error of a query's single error answer. */
export async function errorOf (answers: AsyncGenerator<Answer>): Promise<Error> {
  const all = await take(answers)
  const last = all[all.length - 1]
  if (last?.status !== 'error') throw new Error(`expected an error, got ${JSON.stringify(all, (_k, v: unknown) => typeof v === 'bigint' ? `${v}n` : v)}`)
  return last.error
}

export async function elapsed<T> (fn: () => Promise<T>): Promise<{ value: T, ms: number }> {
  const start = performance.now()
  const value = await fn()
  return { value, ms: performance.now() - start }
}

export function percentile (samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}
