/**
 * The panels' term writer against SWI-Prolog's reader (the engine's swipl-wasm): every term it
 * writes reads back as a variant of itself.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apartVariables, atom, compound, int, variable } from '../../core/wire/term.ts'
import { createNodeEngine } from '../../node-peer/engine-host.ts'
import { termText } from '../../www/ui/term-text.ts'
import { termArbitrary } from '../arbitraries.ts'
import type { Engine } from '../../core/engine/engine.ts'
import type { Term } from '../../core/wire/term.ts'

let engine: Engine

beforeAll(async () => { engine = await createNodeEngine({ onOutput: () => {} }) })
afterAll(async () => { await engine.close() })

/** Whether SWI-Prolog reads `text` as a variant of `term`; the reason when not. */
async function readsBack (term: Term, text: string): Promise<true | string> {
  const { terms: [own], next } = apartVariables([term])
  const read = variable(next)
  const goal = compound(',', compound('term_string', read, text), compound('=@=', read, own))
  for await (const answer of engine.query(goal, { sandbox: false })) {
    if (answer.status === 'success') return true
    return answer.status === 'error' ? answer.error.message : 'read another term'
  }
  return 'no answer'
}

describe('termText', () => {
  it('writes what SWI-Prolog reads back as the same term', async () => {
    await fc.assert(fc.asyncProperty(termArbitrary, async (term) => {
      const text = termText(term)
      expect(await readsBack(term, text), text).toBe(true)
    }), { numRuns: 300 })
  })

  it('writes common terms as a Prolog programmer writes them', () => {
    expect(termText(compound('temperature', atom('kitchen'), 21.5))).toBe('temperature(kitchen,21.5)')
    expect(termText(compound(':-', compound('warm', variable(0)), compound(',', compound('t', variable(0), variable(1)), compound('>', variable(1), int(20))))))
      .toBe('warm(_0) :- t(_0,_1),_1 > 20')
    expect(termText([atom('a'), 'text', int(-3), 1e21])).toBe('[a,"text",-3,1.0e21]')
    expect(termText(atom('Hello world'))).toBe("'Hello world'")
    expect(termText({ items: [atom('a')], tail: variable(0) })).toBe('[a|_0]')
  })

  it('cuts a long term with an ellipsis', () => {
    expect(termText(atom('x'.repeat(100)), 10)).toBe(`${'x'.repeat(9)}…`)
  })
})
