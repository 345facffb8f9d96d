/**
 * The clause counts a page shows for its shared predicates (core/knowledge.ts countPredicates).
 */
import { describe, expect, it } from 'vitest'
import { countPredicates } from '../../core/knowledge.ts'
import { atom, compound, int, variable } from '../../core/wire/term.ts'

describe('clause counts of the shared predicates', () => {
  it('counts facts and rules by the predicate of their head, module qualifiers left out', () => {
    const clauses = [
      compound('likes', atom('alice'), atom('prolog')),
      compound('likes', atom('bob'), atom('logic')),
      compound(':-', compound('friend', variable(0), variable(1)), compound('likes', variable(0), variable(1))),
      compound(':', atom('user'), compound('age', atom('alice'), int(30))),
      atom('ready'),
      'not a clause'
    ]
    expect(countPredicates(clauses)).toEqual([
      { name: 'age', arity: 2, clauses: 1 },
      { name: 'friend', arity: 2, clauses: 1 },
      { name: 'likes', arity: 2, clauses: 2 },
      { name: 'ready', arity: 0, clauses: 1 }
    ])
  })
})
