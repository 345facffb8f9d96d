/**
 * docs/wire.md is the contract: every example in it is checked here against the codec and an
 * independent CBOR printer, so the document cannot drift from the code.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decodeBatch, decodeEvent, encodeBatch, encodeEvent, isCborPayload } from '../../core/wire/event.ts'
import { DEFAULT_EVENT_LIMITS } from '../../core/wire/limits.ts'
import { decodeTerm, encodeTerm } from '../../core/wire/term-codec.ts'
import { atom, compound, int, variable } from '../../core/wire/term.ts'
import { diagnostic, fromHex, hex } from './diagnostic.ts'
import type { Term } from '../../core/wire/term.ts'

const doc = readFileSync(new URL('../../docs/wire.md', import.meta.url), 'utf8')

function blocks (language: string): string[] {
  return [...doc.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map(match => match[1])
}

const compact = (text: string): string => text.replace(/\s+/g, '')

/** Rows of the term table: Prolog text, diagnostic notation and hex, each a code span. */
function termRows (): Array<{ prolog: string, diag: string, bytes: string }> {
  const rows: Array<{ prolog: string, diag: string, bytes: string }> = []
  for (const line of doc.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map(cell => cell.trim())
    if (cells.length !== 3 || !cells.every(cell => /^`.*`$/.test(cell))) continue
    const [prolog, diag, bytes] = cells.map(cell => cell.slice(1, -1).replace(/\\\|/g, '|'))
    if (/^[0-9a-f]+$/.test(bytes)) rows.push({ prolog, diag, bytes })
  }
  return rows
}

/** The examples that are written in Prolog in the document, as terms. */
const prologExamples: Record<string, Term> = {
  'temperature(kitchen, 21.5)': compound('temperature', atom('kitchen'), 21.5),
  'f(X, Y, X)': compound('f', variable(0), variable(1), variable(0)),
  'foo()': compound('foo'),
  '[a, b|T]': { items: [atom('a'), atom('b')], tail: variable(0) },
  '[1, 2.5, "three"]': [int(1), 2.5, 'three'],
  '[]': [],
  "'[]'": atom('[]'),
  '"hello"': 'hello',
  '1': int(1),
  '1.0': 1.0,
  '-0.0': -0,
  '1.5NaN': NaN,
  '-1.0Inf': -Infinity,
  '100000.0': 100000.0,
  '3.141592653589793': Math.PI,
  '18446744073709551615': 2n ** 64n - 1n,
  '18446744073709551616': 2n ** 64n,
  '-18446744073709551617': -(2n ** 64n) - 1n,
  '1r3': { numerator: 1n, denominator: 3n },
  'warm(X) :- temperature(X, T), T > 20': compound(':-', compound('warm', variable(0)),
    compound(',', compound('temperature', variable(0), variable(1)), compound('>', variable(1), int(20))))
}

const id = Uint8Array.from({ length: 16 }, (_, i) => i)
const otherId = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i)
const origin = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const hlc = { wall: 1_732_380_000_000, counter: 0 }
const temperature = prologExamples['temperature(kitchen, 21.5)']
const retract = { kind: 'retract', id: otherId, hlc: { wall: 1_732_380_000_007, counter: 0 }, origin, seq: 2, ids: [id] } as const
const message = { kind: 'message', id, hlc, origin, term: temperature } as const
const documentedPayloads = [
  encodeEvent(message),
  encodeEvent({ kind: 'request', id, hlc, origin, timeout: 2000, term: compound('temperature', atom('kitchen'), variable(0)) }),
  encodeEvent({ kind: 'reply', id: otherId, hlc: { wall: 1_732_380_000_005, counter: 1 }, origin, request: id, term: temperature }),
  encodeEvent({ kind: 'query', id, hlc, origin, timeout: 2000, limit: 1000, goal: compound('load', variable(0)) }),
  encodeEvent({ kind: 'cancel', id: otherId, hlc: { wall: 1_732_380_000_009, counter: 0 }, origin, request: id }),
  encodeEvent({ kind: 'assert', id, hlc, origin, seq: 1, front: false, clause: prologExamples['warm(X) :- temperature(X, T), T > 20'] }),
  encodeEvent(retract),
  encodeBatch([message, retract])
]

describe('docs/wire.md', () => {
  it('has term examples whose bytes are what the encoder writes for their Prolog text', () => {
    const rows = termRows()
    expect(rows.map(row => row.prolog).sort()).toEqual(Object.keys(prologExamples).sort())
    for (const { prolog, diag, bytes } of rows) {
      expect(hex(encodeTerm(prologExamples[prolog])), prolog).toBe(bytes)
      expect(diagnostic(fromHex(bytes)), prolog).toBe(diag)
      expect(hex(encodeTerm(decodeTerm(fromHex(bytes)))), prolog).toBe(bytes)
    }
  })

  it('has event and batch examples in diagnostic notation that the encoder writes', () => {
    const written = new Set(documentedPayloads.map(bytes => compact(diagnostic(bytes))))
    const documented = blocks('cbor-diag').map(compact)
    expect(new Set(documented)).toEqual(written)
  })

  it('has the hex of a full event, and its annotated form, as the encoder writes them', () => {
    const [full] = blocks('hex').map(compact)
    const annotated = compact(blocks('cbor-pretty')[0].replace(/#.*$/gm, ''))
    expect(full).toBe(hex(documentedPayloads[0]))
    expect(annotated).toBe(full)
    const bytes = fromHex(full)
    expect(isCborPayload(bytes)).toBe(true)
    expect(decodeEvent(bytes)).toStrictEqual(message)
    expect(doc).toContain(`The same ${bytes.length} bytes`)
  })

  it('decodes the documented batch', () => {
    expect(decodeBatch(documentedPayloads[documentedPayloads.length - 1])).toStrictEqual([message, retract])
  })

  it('states the default limits of limits.ts', () => {
    for (const [name, value] of Object.entries(DEFAULT_EVENT_LIMITS)) {
      expect(doc, name).toMatch(new RegExp('\\| `' + name + '` \\| ' + value.toLocaleString('en-US') + ' \\|'))
    }
  })
})
