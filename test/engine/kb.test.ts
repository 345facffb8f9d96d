/**
 * Shared predicates through the engine, with the real swipl-wasm: local changes reported exactly
 * with stable ids, remote changes applied without echo, unsafe rules refused where they are
 * asserted and when they arrive, requests answered from shared clauses, and the shared state
 * restored when the worker is replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { atom, compound, int, variable } from '../../core/wire/term.ts'
import { createNodeEngine } from '../../node-peer/engine-host.ts'
import { bindingsOf, elapsed, errorOf } from './helpers.ts'
import type { Engine, KbChange, KbOp } from '../../core/engine/engine.ts'
import type { Compound, Term } from '../../core/wire/term.ts'

let engine: Engine
const changes: KbChange[] = []
const output: string[] = []
const unsandboxed = { sandbox: false }

beforeAll(async () => {
  engine = await createNodeEngine({ onKbChange: change => { changes.push(change) }, onOutput: text => { output.push(text) } })
})

afterAll(async () => { await engine.close() })

async function run (text: string): Promise<Array<Record<string, unknown>>> {
  return await bindingsOf(engine.queryText(text, unsandboxed))
}

/** The changes reported so far (the worker posts them before it answers the round trip). */
async function reported (): Promise<KbChange[]> {
  await engine.decodeUdp([])
  return changes.splice(0)
}

async function requested (term: Term): Promise<Term[]> {
  const terms: Term[] = []
  for await (const answer of engine.request(term)) terms.push(answer)
  return terms
}

const newId = (): Uint8Array => crypto.getRandomValues(new Uint8Array(16))
const assertOp = (clause: Term, id = newId(), front = false): KbOp & { op: 'assert' } => ({ op: 'assert', id, clause, front })
const rule = (head: Term, body: Term): Term => compound(':-', head, body)
const X = variable(0)
const Y = variable(1)

function idsOf (list: KbChange[]): Uint8Array[] {
  return list.map(change => {
    if (change.kind !== 'assert') throw new Error('expected asserts only')
    return change.id
  })
}

describe('local changes', () => {
  it('reports assertz, asserta, retract and erase exactly; a retract names the id its assert had', async () => {
    await run('shared(likes/2)')
    await run('assertz(likes(alice, bob))')
    await run('asserta(likes(carol, dave))')
    await run('assertz((likes(_X, _Y) :- friend(_X, _Y)))')
    const asserted = await reported()
    expect(asserted).toStrictEqual([
      { kind: 'assert', id: expect.any(Uint8Array), clause: compound('likes', atom('alice'), atom('bob')), front: false },
      { kind: 'assert', id: expect.any(Uint8Array), clause: compound('likes', atom('carol'), atom('dave')), front: true },
      { kind: 'assert', id: expect.any(Uint8Array), clause: rule(compound('likes', X, Y), compound('friend', X, Y)), front: false }
    ])
    const [alice, carol, friends] = idsOf(asserted)
    expect(new Set(idsOf(asserted).map(id => `${id.length}:${id.join(',')}`)).size).toBe(3)
    expect(alice).toHaveLength(16)

    await run('retract(likes(carol, dave))')
    expect(await reported()).toStrictEqual([{ kind: 'retract', ids: [carol] }])
    await run('forall(clause(likes(alice, bob), true, Ref), erase(Ref))')
    expect(await reported()).toStrictEqual([{ kind: 'retract', ids: [alice] }])
    await run('retractall(likes(_, _))')
    expect(await reported()).toStrictEqual([{ kind: 'retract', ids: [friends] }])
  })

  it('reports a retractall as one retract, and an assert retracted by the same goal', async () => {
    await run('shared(visited/1), forall(member(_C, [paris, rome, oslo]), assertz(visited(_C)))')
    const ids = idsOf(await reported())
    expect(ids).toHaveLength(3)
    await run('retractall(visited(_))')
    expect(await reported()).toStrictEqual([{ kind: 'retract', ids }])
    await run('assertz(visited(lima)), retract(visited(lima))')
    const [assert, retract] = await reported()
    expect(assert).toMatchObject({ kind: 'assert', clause: compound('visited', atom('lima')) })
    expect(retract).toStrictEqual({ kind: 'retract', ids: [(assert as { id: Uint8Array }).id] })
  })

  it('declares lists and conjunctions; declaring again does no harm', async () => {
    await run('shared(tag/1), shared([tag/1, (size/1, weight/2)]), shared(tag/1)')
    await run('assertz(tag(a)), assertz(size(1)), assertz(weight(a, 1.5))')
    expect((await reported()).map(change => (change as { clause: Term }).clause))
      .toStrictEqual([compound('tag', atom('a')), compound('size', int(1)), compound('weight', atom('a'), 1.5)])
  })

  it('reports the clauses a dynamic predicate has when it is declared shared, unless one is unsafe', async () => {
    await run('dynamic(older/1), assertz(older(1)), assertz((older(_X) :- _X = 2))')
    await run('shared(older/1)')
    expect(await reported()).toMatchObject([
      { kind: 'assert', clause: compound('older', int(1)) },
      { kind: 'assert', clause: rule(compound('older', X), compound('=', X, int(2))) }
    ])
    await run('dynamic(risky/1), assertz((risky(_X) :- shell(_X)))')
    expect((await errorOf(engine.queryText('shared(risky/1)', unsandboxed))).message).toMatch(/^No permission to assert shared_clause `risky\(/)
    expect((await engine.applyKb([assertOp(compound('risky', atom('ls')))])).refused).toMatchObject([{ reason: 'local-head' }])
    expect(await reported()).toStrictEqual([])
  })

  it.each([
    ['atom_length/2', /Domain error: `shared_predicate' expected, found `atom_length\/2'/],
    ['append/3', /Domain error: `shared_predicate' expected, found `append\/3'/],
    ['foo', /Type error: `predicate_indicator' expected, found `foo'/]
  ])('refuses to share %s', async (pi, message) => {
    expect((await errorOf(engine.queryText(`shared(${pi})`, unsandboxed))).message).toMatch(message)
  })

  it('leaves a clause that cannot cross to JavaScript local, with a warning', async () => {
    await run('shared(handle/1), forall(current_output(S), assertz(handle(S)))')
    expect(await reported()).toStrictEqual([])
    expect(output.join('')).toMatch(/p2p: a clause of a shared predicate stays local: blobs/)
    await run('retractall(handle(_))')
    expect(await reported()).toStrictEqual([])
  })
})

describe('rules', () => {
  it.each([
    ['assertz((guarded(X) :- shell(X)))', /the sandbox refuses its body: No permission to call sandboxed `shell\(/],
    ['asserta((guarded(X) :- call(X)))', /the sandbox refuses its body/],
    ['assertz((guarded(X) :- retract(guarded(X))))', /may not change the database; this one names retract/],
    ['assertz((guarded(X) :- findall(Y, assertz(guarded(Y)), X)))', /may not change the database; this one names assertz/]
  ])('refuses %s where it is asserted, reporting and keeping nothing', async (goal, why) => {
    await run('shared(guarded/1)')
    const error = await errorOf(engine.queryText(goal, unsandboxed))
    expect(error.name).toBe('PrologError')
    expect(error.message).toMatch(/^No permission to assert shared_clause `guarded\(/)
    expect(error.message).toMatch(why)
    expect((error as unknown as { term: Term }).term).toMatchObject({
      functor: 'error', args: [{ functor: 'permission_error', args: [atom('assert'), atom('shared_clause'), expect.anything()] }, expect.anything()]
    })
    expect(await run('findall(_B, clause(guarded(_), _B), Bs)')).toStrictEqual([{ Bs: [] }])
    expect(await reported()).toStrictEqual([])
  })

  it('accepts a safe rule, also one calling a predicate that is not defined yet', async () => {
    await run('shared(grand/2), assertz((grand(X, Z) :- parent_of(X, Y), parent_of(Y, Z)))')
    expect(await reported()).toMatchObject([{ kind: 'assert', clause: { functor: ':-' } }])
  })

  it('refuses an unsafe rule of a program as it loads, and keeps the rest', async () => {
    const error = await engine.consult(':- shared(loaded/1).\nloaded(X) :- shell(X).\nloaded(1).', { source: 'unsafe-rule' }).catch((err: Error) => err)
    expect(error).toMatchObject({ name: 'PrologError' })
    expect((error as Error).message).toMatch(/No permission to assert shared_clause `loaded\(/)
    expect(await reported()).toMatchObject([{ kind: 'assert', clause: compound('loaded', int(1)) }])
  })
})

describe('applyKb', () => {
  it('applies remote changes without echo; a local retract of a remote clause names its id', async () => {
    const [ann, bob] = [assertOp(compound('knows', atom('ann'), atom('bob'))), assertOp(compound('knows', atom('bob'), atom('cy')), undefined, true)]
    const acquainted = assertOp(rule(compound('acquainted', X, Y), compound('knows', X, Y)))
    expect(await engine.applyKb([ann, bob, acquainted, ann, { op: 'retract', id: newId() }])).toStrictEqual({ refused: [] })
    expect(await run('findall(_X-_Y, acquainted(_X, _Y), L)')).toStrictEqual([{ L: [compound('-', atom('bob'), atom('cy')), compound('-', atom('ann'), atom('bob'))] }])
    expect(await reported()).toStrictEqual([])

    await engine.applyKb([{ op: 'retract', id: ann.id }])
    expect(await run('findall(_X, knows(_X, _), L)')).toStrictEqual([{ L: [atom('bob')] }])
    await run('retract(knows(bob, cy))')
    expect(await reported()).toStrictEqual([{ kind: 'retract', ids: [bob.id] }])
  })

  it('refuses bad clauses with a reason, in order, and applies the others', async () => {
    await engine.consult('private_fact(1).', { source: 'private' })
    let deep: Term = atom('x')
    for (let i = 0; i < 1_001; i++) deep = compound('f', deep)
    const ops: KbOp[] = [
      assertOp(compound('gem', atom('ruby'))),
      assertOp(rule(compound('gem', X), compound('shell', X))),
      assertOp(rule(compound('gem', X), compound('retract', compound('gem', X)))),
      assertOp(compound('atom_length', atom('a'), int(1))),
      assertOp(compound('append', atom('a'), atom('b'), atom('c'))),
      assertOp(compound('shared', atom('a'))),
      assertOp(int(42)),
      assertOp(rule(atom('p'), int(1))),
      assertOp(compound(':', atom('lists'), atom('foo'))),
      assertOp(compound('private_fact', int(2))),
      { op: 'assert', id: new Uint8Array(8), clause: atom('short_id'), front: false },
      assertOp(compound('gem', deep)),
      assertOp(compound('gem', atom('opal')))
    ]
    const { refused } = await engine.applyKb(ops)
    expect(refused).toStrictEqual([
      [1, 'unsafe-body'], [2, 'unsafe-body'], [3, 'builtin-head'], [4, 'builtin-head'], [5, 'builtin-head'], [6, 'not-a-clause'],
      [7, 'not-a-clause'], [8, 'not-callable-head'], [9, 'local-head'], [10, 'bad-id'], [11, 'too-deep']
    ].map(([i, reason]) => ({ id: ops[i as number].id, reason })))
    expect(await run('findall(_G, gem(_G), L), findall(_P, private_fact(_P), Ps)')).toStrictEqual([{ L: [atom('ruby'), atom('opal')], Ps: [int(1)] }])
  })

  it('declares an undeclared predicate shared, so that local changes of it are reported too', async () => {
    await engine.applyKb([assertOp(compound('planet', atom('mars')))])
    await run('assertz(planet(venus))')
    expect(await reported()).toMatchObject([{ kind: 'assert', clause: compound('planet', atom('venus')) }])
    expect(await run('findall(_P, planet(_P), L)')).toStrictEqual([{ L: [atom('mars'), atom('venus')] }])
  })

  it('applies 10,000 ops in one call (informational)', async () => {
    const facts = Array.from({ length: 10_000 }, (_, i) => assertOp(compound('reading', int(i), atom('kitchen'), 21.5)))
    const rules = Array.from({ length: 10_000 }, (_, i) => assertOp(rule(compound('warm', X), compound(',', compound('reading', X, Y, variable(2)), compound('>', X, int(i))))))
    for (const [label, ops] of [['facts', facts], ['rules', rules], ['retracts', facts.map(op => ({ op: 'retract' as const, id: op.id }))]] as const) {
      const { value, ms } = await elapsed(async () => await engine.applyKb(ops))
      expect(value.refused).toStrictEqual([])
      console.log(`applyKb of 10,000 ${label}: ${ms.toFixed(0)} ms`)
    }
    expect(await run('aggregate_all(count, reading(_, _, _), N)')).toStrictEqual([{ N: 0n }])
  })
})

describe('receiveUdp (the UDP bridge\'s way in)', () => {
  const datagram = (message: string): string => `%-prolog-\n${message}`

  it('does the changes of shared predicates in order and reports them before it answers; the rest comes back', async () => {
    await run('shared(sensor/2)')
    await reported()
    const results = await engine.receiveUdp([
      datagram('send(assert(sensor(hall, 19)))'),
      datagram('send(temperature(hall, 19))'),
      datagram('send(asserta(sensor(attic, 12)))'),
      datagram('send(assert(unshared_reading(1)))'),
      datagram('request(q(1), retract(sensor(hall, T)))'),
      datagram('send(assert((sensor(R, _) :- shell(R))))'),
      datagram('send(assert(sensor(cellar'),
      datagram(`send(assert(sensor(${'['.repeat(1_001)}${']'.repeat(1_001)}, 0)))`),
      datagram('request(q(2), sensor(R, T))'),
      datagram('send(retractall(sensor(attic, _)))')
    ])
    expect(results).toStrictEqual([
      { kind: 'change', via: 'send' },
      { kind: 'send', term: compound('temperature', atom('hall'), int(19)) },
      { kind: 'change', via: 'send' },
      { kind: 'send', term: compound('assert', compound('unshared_reading', int(1))) },
      { kind: 'change', via: 'request', reply: { id: compound('q', int(1)), term: compound('retract', compound('sensor', atom('hall'), int(19))) } },
      { kind: 'change', via: 'send', error: expect.stringMatching(/^No permission to assert shared_clause `sensor\(/) },
      { error: 'syntax' },
      { error: 'too-deep' },
      { kind: 'request', id: compound('q', int(2)), term: compound('sensor', X, Y) },
      { kind: 'change', via: 'send' }
    ])
    // Not through reported(): the changes are there when receiveUdp resolves.
    const [hall, attic, ...retracts] = changes.splice(0)
    expect(hall).toMatchObject({ kind: 'assert', clause: compound('sensor', atom('hall'), int(19)), front: false })
    expect(attic).toMatchObject({ kind: 'assert', clause: compound('sensor', atom('attic'), int(12)), front: true })
    // Retracts that follow each other are reported as one.
    expect(retracts).toStrictEqual([{ kind: 'retract', ids: idsOf([hall, attic]) }])
    expect(await run('findall(_P, sensor(_P, _), L), ( current_predicate(unshared_reading/1) -> U = made ; U = none )')).toStrictEqual([{ L: [], U: atom('none') }])
  })

  it('takes a batch of more text than one Prolog call reads (4 Mi characters) whole and in order', async () => {
    await run('shared(bulk/2)')
    const texts = Array.from({ length: 80 }, (_, i) => datagram(`send(assert(bulk(${i}, "${'x'.repeat(60_000)}")))`))
    texts[40] = datagram('send(bulk_message)')
    const results = await engine.receiveUdp(texts)
    expect(results.map(r => 'kind' in r ? r.kind : r.error)).toStrictEqual(texts.map((_, i) => i === 40 ? 'send' : 'change'))
    expect(changes.splice(0).map(change => (change as { clause: Compound }).clause.args[0])).toStrictEqual(texts.flatMap((_, i) => i === 40 ? [] : [int(i)]))
  })

  it('reads what decodeUdp reads, and refuses the same datagrams', async () => {
    const texts = ['send(ok)', 'reply(r(1), [1, 2.0])', '%prolog\nsend(ok)', 'hello', 'send(a, b)', '\ud800'].map(datagram)
    texts[2] = '%prolog\nsend(ok)'
    expect(await engine.receiveUdp(texts)).toStrictEqual(await engine.decodeUdp(texts))
  })
})

describe('requests and broadcasts', () => {
  beforeAll(async () => {
    await engine.applyKb([
      assertOp(compound('city', atom('paris'), int(2_100_000))),
      assertOp(compound('city', atom('ghent'), int(260_000))),
      assertOp(rule(compound('big', X), compound(',', compound('city', X, Y), compound('>', Y, int(1_000_000))))),
      assertOp(rule(compound('noisy', X), compound(',', compound('format', 'noisy called~n'), compound('=', X, int(1)))))
    ])
    await engine.consult('hidden(1).', { source: 'hidden' })
  })

  it('answers a request for a shared predicate from its facts and rules', async () => {
    expect(await requested(compound('city', X, Y))).toStrictEqual([
      compound('city', atom('paris'), int(2_100_000)), compound('city', atom('ghent'), int(260_000))
    ])
    expect(await requested(compound('big', X))).toStrictEqual([compound('big', atom('paris'))])
  })

  it('does not answer for predicates that are not shared', async () => {
    expect(await requested(compound('hidden', X))).toStrictEqual([])
  })

  it('calls nothing for a plain broadcast of such a term', async () => {
    output.length = 0
    await engine.broadcast(compound('noisy', X))
    await engine.decodeUdp([])
    expect(output.join('')).not.toMatch(/noisy called/)
    expect(await requested(compound('noisy', X))).toStrictEqual([compound('noisy', int(1))])
    expect(output.join('')).toMatch(/noisy called/)
  })
})

describe('the sandbox', () => {
  it('refuses shared/1 to sandboxed goals and programs', async () => {
    const error = await errorOf(engine.queryText('shared(sneaky/1)'))
    expect(error).toMatchObject({ name: 'SandboxError' })
    expect(error.message).toMatch(/No permission to call sandboxed `shared\(sneaky\/1\)'/)
    await expect(engine.consult(':- shared(sneaky/1).', { sandbox: true, source: 'sneaky' })).rejects.toMatchObject({ name: 'SandboxError' })
    expect(await run('\\+ current_predicate(sneaky/1)')).toHaveLength(1)
  })

  // library(sandbox) checks a qualified goal as if it ran in the module it names, where an
  // assertz/1 or retract/1 of that module's own facts counts as safe.
  it.each([
    ['p2p_kb:kb_begin_restore', /`kb_begin_restore'/],
    ['p2p_kb:kb_bind_ids([])', /`kb_bind_ids\(\[\]\)'/],
    ['p2p_kb_check:checking(true)', /`p2p_kb_check:checking\(true\)'/],
    ['take_published(X)', /`take_published\(/],
    ['p2p_broadcast:take_published(X)', /`take_published\(/]
  ])('refuses %s, an internal of the engine, to sandboxed goals', async (goal, message) => {
    const error = await errorOf(engine.queryText(goal))
    expect(error).toMatchObject({ name: 'SandboxError' })
    expect(error.message).toMatch(message)
  })
})

describe('programs', () => {
  it('reports the shared clauses of a program, and those a new version of it drops', async () => {
    await engine.consult(':- shared(capital/1).\ncapital(paris).\ncapital(rome).', { source: 'capitals' })
    const [, rome] = idsOf(await reported())
    await engine.consult(':- shared(capital/1).\ncapital(paris).\ncapital(oslo).', { source: 'capitals' })
    expect(await reported()).toStrictEqual([
      { kind: 'assert', id: expect.any(Uint8Array), clause: compound('capital', atom('oslo')), front: false },
      { kind: 'retract', ids: [rome] }
    ])
  })

  it('does not report the wipe of a shared predicate that a program redefines without declaring it', async () => {
    await run('shared(wiped/1), assertz(wiped(1))')
    expect(await reported()).toHaveLength(1)
    await engine.consult('wiped(2).', { source: 'redefines' })
    expect(await reported()).toStrictEqual([])
    expect((await engine.applyKb([assertOp(compound('wiped', int(3)))])).refused).toMatchObject([{ reason: 'local-head' }])
  })
})

describe('program_predicates/2 (the page\'s Share)', () => {
  it('lists the predicates a program has clauses for, once each, in order, skipping directives and bad terms', async () => {
    const text = ':- dynamic x/1.\ncolour(red).\ncolour(green).\ngreeting --> [hello].\nwarm(X) :- colour(X).\nm:q(1).\nbroken( .\nlast(1).'
    const [{ PIs }] = await bindingsOf(engine.query(compound(':', atom('p2p_kb'), compound('program_predicates', text, variable(0))), unsandboxed))
      .then(rows => rows.map(row => ({ PIs: row['0'] })))
    expect(PIs).toStrictEqual([['colour', 1n], ['greeting', 2n], ['warm', 1n], ['last', 1n]].map(([name, arity]) => compound('/', atom(name as string), arity as bigint)))
  })
})

describe('a replaced worker', () => {
  it('gets the shared state back from the host; replayed program clauses keep their ids', async () => {
    // A host that makes its engine calls one at a time, as a replica does.
    let queue = Promise.resolve()
    const serially = async (work: () => Promise<void>): Promise<void> => { queue = queue.then(work); await queue }
    const replica = new Map<string, KbOp>()
    const key = (id: Uint8Array): string => id.join(',')
    const seen: KbChange[] = []
    const restarts: string[] = []
    const track = (change: KbChange): void => {
      seen.push(change)
      if (change.kind === 'assert') replica.set(key(change.id), { op: 'assert', id: change.id, clause: change.clause, front: change.front })
      else for (const id of change.ids) replica.delete(key(id))
    }
    const host: Engine = await createNodeEngine({
      onOutput: () => {},
      onKbChange: track,
      onRestart: async (reason) => {
        restarts.push(reason)
        await serially(async () => {
          const { refused } = await host.applyKb([...replica.values()])
          expect(refused).toStrictEqual([])
        })
      }
    })
    const apply = async (ops: KbOp[]): Promise<void> => {
      await serially(async () => {
        for (const op of ops) {
          if (op.op === 'assert') replica.set(key(op.id), op)
          else replica.delete(key(op.id))
        }
        await host.applyKb(ops)
      })
    }
    const pets = async (): Promise<unknown> => (await bindingsOf(host.queryText('findall(_P, pet(_P), _L), msort(_L, S)', unsandboxed)))[0].S
    try {
      await host.consult(':- shared(pet/1).\npet(cat).\npet(dog).', { source: 'pets' })
      await bindingsOf(host.queryText('shared(note/1), assertz(pet(fish)), retract(pet(dog))', unsandboxed))
      const cow = assertOp(compound('pet', atom('cow')))
      await apply([assertOp(compound('pet', atom('bird'))), cow])
      await apply([{ op: 'retract', id: cow.id }])
      await host.decodeUdp([])
      const cat = seen.find(change => change.kind === 'assert' && JSON.stringify(change.clause) === JSON.stringify(compound('pet', atom('cat'))))
      expect(await pets()).toStrictEqual(['bird', 'cat', 'fish'].map(atom))
      seen.length = 0

      const stuck = await errorOf(host.queryText('set_prolog_flag(heartbeat, 0), repeat, fail', { ...unsandboxed, timeout: 300 }))
      expect(stuck).toMatchObject({ name: 'EngineTimeoutError' })
      expect(restarts).toStrictEqual([]) // the new worker is starting: a change from the network waits for it
      const late = apply([assertOp(compound('pet', atom('yak')))])
      expect(await pets()).toStrictEqual(['bird', 'cat', 'fish', 'yak'].map(atom))
      await late
      expect(restarts).toHaveLength(1)
      await host.decodeUdp([])
      expect(seen).toStrictEqual([])

      await host.consult(':- shared(pet/1).\npet(eel).', { source: 'pets' })
      await bindingsOf(host.queryText('assertz(note(hello))', unsandboxed))
      await host.decodeUdp([])
      expect(seen).toStrictEqual([
        { kind: 'assert', id: expect.any(Uint8Array), clause: compound('pet', atom('eel')), front: false },
        { kind: 'retract', ids: [(cat as { id: Uint8Array }).id] },
        { kind: 'assert', id: expect.any(Uint8Array), clause: compound('note', atom('hello')), front: false }
      ])
      expect(await pets()).toStrictEqual(['bird', 'eel', 'fish', 'yak'].map(atom))
    } finally {
      await host.close()
    }
  })
})
