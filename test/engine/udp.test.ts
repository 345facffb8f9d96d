/**
 * The udp_broadcast text codec against stock SWI-Prolog (/usr/bin/swipl and its
 * library(udp_broadcast), udp_term_string/3): what stock swipl writes decodes to the same terms,
 * what the engine writes stock swipl reads back as variants, and garbage gives a reason per
 * datagram without disturbing the others.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { atom, compound } from '../../core/wire/term.ts'
import { createNodeEngine } from '../../node-peer/engine-host.ts'
import { canonicalVars, termArbitrary } from '../arbitraries.ts'
import type { Engine, UdpMessage } from '../../core/engine/engine.ts'
import type { Compound, Term } from '../../core/wire/term.ts'

/** Messages as Prolog source text, which both Prologs read; the ground ones first. */
const GROUND = [
  'send(temperature(kitchen, 21.5))',
  'send("a string with \\"quotes\\", a newline\\n and a NUL \\000\\ char")',
  "send('Quoted Atom with \\'quote\\'')",
  'reply(id(42), [1, 2.0, -3, 1.0e100, -0.0, 1.0Inf, -1.0Inf, 1.5NaN])',
  "send(f('[]', [], '{}', {x}, g(), '$VAR'(1), '$VAR'('Foo')))",
  'send(f(- 1, -(1), -1, 1 - 2, a:b:c, (a :- b, c), [-]))',
  'send(123456789012345678901234567890)',
  'send(1r3)',
  "send('hé 日本語 😀')"
]
const CASES = [...GROUND, 'request(id(42), get(sensor, X, X, _Y))', 'send([a, b|T])', 'request(_, ping)']

let engine: Engine
let dir: string

beforeAll(async () => {
  engine = await createNodeEngine({ onOutput: () => {} })
  dir = mkdtempSync(join(tmpdir(), 'p2p-udp-'))
})

afterAll(async () => {
  await engine.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Runs stock swipl on a program; each line it prints is one result. */
function stockSwipl (program: string): string[] {
  const file = join(dir, `case-${Math.random().toString(36).slice(2)}.pl`)
  writeFileSync(file, program)
  return execFileSync('swipl', ['-q', '-g', 'main', '-t', 'halt', file], { encoding: 'utf8' }).trim().split('\n')
}

/** What stock swipl's udp_term_string/3 writes for each case, exactly. */
function stockDatagrams (sources: string[]): string[] {
  const program = [
    ':- use_module(library(udp_broadcast)).',
    ':- style_check(-singleton).',
    ...sources.map((source, i) => `case(${i}, ${source}).`),
    'main :- forall(case(_, T), (udp_broadcast:udp_term_string(s, T, S), base64_encoded(S, B, [encoding(utf8)]), writeln(B))).'
  ].join('\n')
  return stockSwipl(program).map(line => Buffer.from(line, 'base64').toString('utf8'))
}

/** Whether stock swipl reads each datagram back (udp_term_string/3) as a variant of its case. */
function stockReadsBack (sources: string[], datagrams: string[]): boolean[] {
  const program = [
    ':- use_module(library(udp_broadcast)).',
    ':- style_check(-singleton).',
    ...sources.map((source, i) => `case(${i}, ${source}).`),
    ...datagrams.map((text, i) => `datagram(${i}, "${Buffer.from(text, 'utf8').toString('base64')}").`),
    'main :- forall(datagram(I, B), (base64_encoded(S, B, [encoding(utf8)]), case(I, Expected),',
    '  ( udp_broadcast:udp_term_string(s, T, S), T =@= Expected -> writeln(yes) ; writeln(no) ))).'
  ].join('\n')
  return stockSwipl(program).map(line => line === 'yes')
}

/** The message of a source text, read by the engine. */
async function messageOf (source: string): Promise<Term> {
  for await (const answer of engine.queryText(`M = (${source})`, { sandbox: false })) {
    if (answer.status === 'success') return answer.bindings.M
  }
  throw new Error(`cannot read ${source}`)
}

function asUdpMessage (message: Term): UdpMessage {
  const { functor, args } = message as { functor: string, args: Term[] }
  if (functor === 'send') return { kind: 'send', term: args[0] }
  return { kind: functor as 'request' | 'reply', id: args[0], term: args[1] }
}

describe('what stock swipl writes', () => {
  it('pins the format: the line %-prolog-, then the term quoted with operators ignored', () => {
    expect(stockDatagrams(['send(temperature(kitchen, 21.5))'])).toStrictEqual(['%-prolog-\nsend(temperature(kitchen,21.5))'])
  })

  it('decodes to the terms the engine reads from the same source', async () => {
    const decoded = await engine.decodeUdp(stockDatagrams(CASES))
    const expected = await Promise.all(CASES.map(async source => asUdpMessage(await messageOf(source))))
    expect(decoded).toStrictEqual(expected)
  })
})

describe('what the engine writes', () => {
  it('is byte for byte what stock swipl writes, for ground messages', async () => {
    // SWI-Prolog 10 (the WASM build) writes {}(x) where 9.0 writes {x}, and NUL as itself where
    // 9.0 writes \u0000; each reads the other's form (next test).
    const sameBytes = GROUND.filter(source => !source.includes('{x}') && !source.includes('\\000'))
    expect(sameBytes.length).toBe(GROUND.length - 2)
    const ours = await engine.encodeUdp(await Promise.all(sameBytes.map(async source => asUdpMessage(await messageOf(source)))))
    expect(ours).toStrictEqual(stockDatagrams(sameBytes))
  })

  it('is read back by stock swipl as a variant of every case', async () => {
    const ours = await engine.encodeUdp(await Promise.all(CASES.map(async source => asUdpMessage(await messageOf(source)))))
    expect(stockReadsBack(CASES, ours)).toStrictEqual(CASES.map(() => true))
  })

  it('writes bidi override characters escaped, so that SWI-Prolog 10 reads them back', async () => {
    const term = compound('note', '\u202ahello\u2069', atom('\u2066'))
    const [text] = await engine.encodeUdp([{ kind: 'send', term }])
    expect(text).toContain('\\x202A\\')
    expect(await engine.decodeUdp([text])).toStrictEqual([{ kind: 'send', term }])
  })

  it('round-trips random terms through encodeUdp and decodeUdp (500 pairs)', async () => {
    await fc.assert(fc.asyncProperty(termArbitrary, termArbitrary, async (id, term) => {
      const messages: UdpMessage[] = [{ kind: 'send', term }, { kind: 'request', id, term }]
      const decoded = await engine.decodeUdp(await engine.encodeUdp(messages))
      expect(decoded).toStrictEqual([messages[0], { kind: 'request', ...numberedTogether(id, term) }])
    }), { numRuns: 500 })
  })
})

/** Id and term with their variables numbered together, as one decoded message has them. */
function numberedTogether (id: Term, term: Term): { id: Term, term: Term } {
  const [first, second] = (canonicalVars(compound('m', id, term)) as Compound).args
  return { id: first, term: second }
}

describe('garbage', () => {
  const valid = '%-prolog-\nsend(ok)'
  it.each<[string, string, string]>([
    ['no prefix', 'no-prefix', 'send(ok)'],
    ["the hook's documented prefix, not the code's", 'no-prefix', '%prolog\nsend(ok)'],
    ['the prefix alone', 'shape', '%-prolog-\n'],
    ['an unfinished term', 'syntax', '%-prolog-\nfoo('],
    ['a truncated message', 'syntax', '%-prolog-\nsend(temperature(kit'],
    ['unbalanced brackets', 'syntax', '%-prolog-\nsend(a))'],
    ['a term that is no message', 'shape', '%-prolog-\nhello'],
    ['a message of the wrong arity', 'shape', '%-prolog-\nsend(a, b)'],
    ['a variable', 'shape', '%-prolog-\nX'],
    ['a term followed by junk', 'syntax', '%-prolog-\nsend(a) junk'],
    ['more than 64 KiB', 'too-large', `%-prolog-\nsend("${'x'.repeat(65_536)}")`],
    ['a list nested 20,000 deep', 'too-deep', `%-prolog-\nsend(${'['.repeat(20_000)}${']'.repeat(20_000)})`],
    ['a lone surrogate', 'bad-text', '%-prolog-\nsend("\ud800")']
  ])('%s gives %s, and the valid datagrams around it still decode', async (_name, reason, datagram) => {
    expect(await engine.decodeUdp([valid, datagram, valid])).toStrictEqual([
      { kind: 'send', term: atom('ok') }, { error: reason }, { kind: 'send', term: atom('ok') }
    ])
  })

  it('reads the first of two terms, as udp_term_string/3 of stock swipl does', async () => {
    expect(await engine.decodeUdp(['%-prolog-\nsend(a). send(b).'])).toStrictEqual([{ kind: 'send', term: atom('a') }])
  })

  it('keeps U+FFFD and NUL characters as they are', async () => {
    expect(await engine.decodeUdp(['%-prolog-\nsend("\ufffd\\0\\")'])).toStrictEqual([{ kind: 'send', term: '\ufffd\u0000' }])
  })

  it('survives random bytes, with and without the prefix', async () => {
    const garbage = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? '%-prolog-\n' : '') + randomBytes(1 + (i * 37) % 2_000).toString('utf8'))
    const results = await engine.decodeUdp([...garbage, valid])
    expect(results[results.length - 1]).toStrictEqual({ kind: 'send', term: atom('ok') })
    for (const result of results.slice(0, -1)) expect(result).toHaveProperty('error')
  })

  it('decodes 64 KiB exactly', async () => {
    const text = `%-prolog-\nsend("${'x'.repeat(65_536 - 18)}")`
    expect(Buffer.byteLength(text)).toBe(65_536)
    expect(await engine.decodeUdp([text])).toStrictEqual([{ kind: 'send', term: 'x'.repeat(65_536 - 18) }])
  })
})
