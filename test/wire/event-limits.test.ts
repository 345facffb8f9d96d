import { Encoder, Tag } from 'cbor-x'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { InvalidEventError, InvalidTermError } from '../../core/wire/errors.ts'
import { decodeBatch, decodeEvent, encodeBatch, encodeEvent } from '../../core/wire/event.ts'
import { DEFAULT_EVENT_LIMITS } from '../../core/wire/limits.ts'
import { encodeTerm } from '../../core/wire/term-codec.ts'
import { atom, compound } from '../../core/wire/term.ts'
import { wireEventArbitrary } from '../arbitraries.ts'
import { fromHex, hex } from './diagnostic.ts'
import type { EventLimits } from '../../core/wire/limits.ts'
import type { WireEvent } from '../../core/wire/event.ts'
import type { Term } from '../../core/wire/term.ts'

const origin = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
const id = Uint8Array.from({ length: 16 }, (_, i) => i)
const PREFIX = 'd9d9f7'

function message (term: Term = compound('temperature', atom('kitchen'), 21.5)): WireEvent {
  return { kind: 'message', id, hlc: { wall: 1_732_380_000_000, counter: 0 }, origin, term }
}

// Crafts envelopes the encoder would refuse to write, with cbor-x as a peer with another encoder would.
const crafter = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true })
const raw = (overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ v: 1, k: 'message', id, t: [1, 0], o: origin, x: new Tag(encodeTerm(atom('a')), 24), ...overrides })
const craft = (map: unknown): Uint8Array => fromHex(PREFIX + hex(crafter.encode(map)))
const without = (key: string): Record<string, unknown> => {
  const map = raw()
  delete map[key] // eslint-disable-line @typescript-eslint/no-dynamic-delete
  return map
}

/** The reason of the refusal, checking that only typed errors come out (a cause is a term refusal). */
function reasonOf (decode: () => unknown): string {
  try {
    decode()
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEventError)
    expect(err).toHaveProperty('name', 'InvalidEventError')
    const cause = (err as Error).cause
    if (cause !== undefined) expect(cause instanceof InvalidTermError || cause instanceof InvalidEventError).toBe(true)
    return (err as InvalidEventError).reason
  }
  return 'accepted'
}
const eventReason = (bytes: Uint8Array, limits: Partial<EventLimits> = {}): string => reasonOf(() => decodeEvent(bytes, limits))
const batchReason = (bytes: Uint8Array, limits: Partial<EventLimits> = {}): string => reasonOf(() => decodeBatch(bytes, limits))

describe('event decoding', () => {
  it('accepts what it crafts untouched (the crafting helpers are sound)', () => {
    expect(eventReason(craft(raw()))).toBe('accepted')
  })

  it('rejects an event of 64 KiB + 1 byte', () => {
    const fits = encodeEvent(message('x'.repeat(32_000)), { maxTextBytes: 65_536 })
    const padding = DEFAULT_EVENT_LIMITS.maxEventBytes - fits.length
    const exact = encodeEvent(message('x'.repeat(32_000 + padding)), { maxTextBytes: 65_536 })
    expect(exact.length).toBe(65_536)
    expect(eventReason(exact, { maxTextBytes: 65_536 })).toBe('accepted')
    const over = encodeEvent(message('x'.repeat(32_001 + padding)), { maxTextBytes: 65_536, maxEventBytes: 70_000, maxBytes: 70_000 })
    expect(over.length).toBe(65_537)
    expect(eventReason(over, { maxTextBytes: 65_536 })).toBe('too-large')
  })

  it('rejects a batch of 1 MiB + 1 byte', () => {
    const batch = encodeBatch(Array.from({ length: 17 }, () => message('x'.repeat(61_680))), { maxTextBytes: 65_536, maxBatchBytes: 2 ** 21 })
    expect(batch.length).toBeGreaterThan(DEFAULT_EVENT_LIMITS.maxBatchBytes)
    expect(batchReason(batch.subarray(0, DEFAULT_EVENT_LIMITS.maxBatchBytes + 1))).toBe('too-large')
    expect(batchReason(batch, { maxTextBytes: 65_536, maxBatchBytes: 2 ** 21 })).toBe('accepted')
  })

  it('rejects an event in a batch over maxEventBytes', () => {
    const batch = encodeBatch([message(), message('x'.repeat(1_000))])
    expect(batchReason(batch, { maxEventBytes: 1_000 })).toBe('too-large')
  })

  it('rejects a batch of more than maxBatchEvents events', () => {
    const batch = encodeBatch(Array.from({ length: 5 }, () => message()))
    expect(batchReason(batch, { maxBatchEvents: 4 })).toBe('too-many-events')
    expect(batchReason(fromHex(PREFIX + '9a00010000'))).toBe('too-many-events') // claims 65,536 events
  })

  it('rejects the whole batch when one event is bad, naming it', () => {
    const good = hex(encodeEvent(message())).slice(6)
    const bad = hex(craft(raw({ v: 2 }))).slice(6)
    const error = (() => { try { decodeBatch(fromHex(PREFIX + '83' + good + good + bad)) } catch (err) { return err as Error } })()
    expect(error).toMatchObject({ name: 'InvalidEventError', reason: 'bad-version' })
    expect(error?.message).toMatch(/^event 2: /)
  })

  it('rejects a term over the term limits, with the term reason', () => {
    expect(eventReason(encodeEvent(message([[[atom('deep')]]])), { maxDepth: 2 })).toBe('too-deep')
    expect(eventReason(encodeEvent(message('x'.repeat(100))), { maxTextBytes: 99 })).toBe('text-too-long')
  })

  it('rejects bytes that do not start with d9 d9 f7', () => {
    const event = encodeEvent(message())
    expect(eventReason(event.subarray(3))).toBe('not-cbor')
    expect(eventReason(new TextEncoder().encode('%-prolog-\nsend(a).'))).toBe('not-cbor')
    expect(batchReason(encodeBatch([message()]).subarray(3))).toBe('not-cbor')
  })

  it('rejects an event or a batch truncated at every byte offset', () => {
    const event = encodeEvent({ kind: 'retract', id, hlc: { wall: 2 ** 40, counter: 1 }, origin, seq: 2 ** 40, ids: [id, id] })
    const batch = encodeBatch([message(), event ? decodeEvent(event) : message()])
    for (let end = 0; end < event.length; end++) expect(eventReason(event.subarray(0, end))).toMatch(/^(truncated|not-cbor)$/)
    for (let end = 0; end < batch.length; end++) expect(batchReason(batch.subarray(0, end))).toMatch(/^(truncated|not-cbor)$/)
  })

  it('rejects a version other than 1', () => {
    for (const v of [0, 2, '1', id]) expect(eventReason(craft(raw({ v })))).toBe('bad-version')
    expect(eventReason(craft(without('v')))).toBe('bad-version')
  })

  it('rejects an unknown kind', () => {
    for (const k of ['gossip', 'toString', '__proto__', 1, '']) expect(eventReason(craft(raw({ k })))).toBe('unknown-kind')
  })

  it('rejects a wrong id length', () => {
    for (const bad of [new Uint8Array(15), new Uint8Array(17), new Uint8Array(0), 'x'.repeat(16), [0, 1]]) {
      expect(eventReason(craft(raw({ id: bad })))).toBe('bad-field')
    }
  })

  it('rejects a clock that is not two non-negative integers below 2^53', () => {
    for (const t of [[1], [1, 2, 3], [-1, 0], [2n ** 53n, 0], [1, 'x'], { wall: 1, counter: 0 }, 5]) {
      expect(eventReason(craft(raw({ t })))).toBe('bad-field')
    }
    expect(eventReason(craft(raw({ t: [2n ** 53n - 1n, 2n ** 40n] })))).toBe('accepted')
  })

  it('rejects an origin that is empty, too long or not text', () => {
    for (const o of ['', 'x'.repeat(129), 7, id]) expect(eventReason(craft(raw({ o })))).toBe('bad-field')
    expect(eventReason(craft(raw({ o: 'x'.repeat(128) })))).toBe('accepted')
  })

  it('rejects missing, extra and duplicate keys', () => {
    expect(eventReason(craft(without('o')))).toBe('bad-field')
    expect(eventReason(craft(raw({ extra: 1 })))).toBe('bad-field')
    expect(eventReason(craft(raw({ to: 5 })))).toBe('bad-field')
    // {"v": 1, "k": "message", "id": ..., "t": [1, 0], "o": ..., "x": ..., "x": ...} with 7 pairs
    const body = hex(craft(raw())).slice(6)
    const term = hex(crafter.encode({ x: new Tag(encodeTerm('other'), 24) })).slice(2)
    expect(eventReason(fromHex(PREFIX + 'a7' + body.slice(2) + term))).toBe('bad-field')
  })

  it('rejects a retract with no ids or more than maxRetractIds', () => {
    const retract = (ids: unknown): Uint8Array => craft({ ...without('x'), k: 'retract', n: 1, ids })
    expect(eventReason(retract([id, id]))).toBe('accepted')
    expect(eventReason(retract([]))).toBe('bad-field')
    expect(eventReason(retract([id, id, id]), { maxRetractIds: 2 })).toBe('bad-field')
    expect(eventReason(retract([id, new Uint8Array(3)]))).toBe('bad-field')
  })

  it('rejects a kb event whose "n" is missing, 0, negative, 2^53 or not an integer, and "n" on other kinds', () => {
    // A float never reaches the field check: the envelope guard refuses it (bad-shape, below).
    const assert = (n: unknown): Uint8Array => craft(raw({ k: 'assert', n, f: false }))
    for (const n of [0, -1, 2n ** 53n, '1', id, true]) expect(eventReason(assert(n))).toBe('bad-field')
    expect(eventReason(craft(raw({ k: 'assert', f: false })))).toBe('bad-field')
    expect(eventReason(craft({ ...without('x'), k: 'retract', ids: [id] }))).toBe('bad-field')
    expect(eventReason(craft(raw({ n: 1 })))).toBe('bad-field')
    expect(eventReason(assert(1))).toBe('accepted')
    expect(eventReason(assert(2n ** 53n - 1n))).toBe('accepted')
    expect(eventReason(fromHex(hex(assert(1)).replace('616e01', '616e1b0000000000000001')))).toBe('accepted') // any head width
  })

  it('rejects fields of the wrong type in each kind', () => {
    expect(eventReason(craft(raw({ k: 'request', to: -5 })))).toBe('bad-field')
    expect(eventReason(craft(raw({ k: 'request', to: 'soon' })))).toBe('bad-field')
    expect(eventReason(craft(raw({ k: 'reply', re: new Uint8Array(4) })))).toBe('bad-field')
    expect(eventReason(craft(raw({ k: 'query', to: 1000, lim: -1 })))).toBe('bad-field')
    expect(eventReason(craft(raw({ k: 'query', to: 1000 })))).toBe('bad-field')
    expect(eventReason(craft(raw({ k: 'query', to: 1000, lim: 10 })))).toBe('accepted')
    expect(eventReason(craft({ ...without('x'), k: 'cancel', re: new Uint8Array(4) }))).toBe('bad-field')
    expect(eventReason(craft({ ...without('x'), k: 'cancel', re: id }))).toBe('accepted')
    expect(eventReason(craft(raw({ k: 'assert', n: 1, f: 1 })))).toBe('bad-field')
    expect(eventReason(craft(raw({ k: 'assert', n: 1, f: true })))).toBe('accepted')
  })

  it('rejects a term that is not embedded CBOR (tag 24)', () => {
    expect(eventReason(craft(raw({ x: 'inline' })))).toBe('bad-field')
    expect(eventReason(craft(raw({ x: encodeTerm(atom('a')) })))).toBe('bad-field')
  })

  it('rejects a map where a term is expected', () => {
    expect(eventReason(craft(raw({ x: new Tag(crafter.encode({ a: 1 }), 24) })))).toBe('bad-shape')
  })

  it('rejects bad UTF-8 in the envelope and in the term', () => {
    const badOrigin = hex(craft(raw({ o: 'ab' }))).replace('626162', '62c0af')
    expect(eventReason(fromHex(badOrigin))).toBe('bad-utf8')
    expect(eventReason(craft(raw({ x: new Tag(fromHex('62c0af'), 24) })))).toBe('bad-utf8')
  })

  it('rejects tags other than 24 in the envelope (cbor-x would build RegExps, cycles, sets)', () => {
    expect(eventReason(craft(raw({ o: new Tag(['RegExp', 'a+$'], 27) })))).toBe('unknown-tag')
    expect(eventReason(craft(raw({ t: new Tag([1, 0], 28) })))).toBe('unknown-tag')
    expect(eventReason(craft(raw({ extra: new Tag(0, 29) })))).toBe('unknown-tag')
    expect(eventReason(craft(raw({ x: new Tag('text', 24) })))).toBe('bad-shape')
  })

  it('rejects map keys that are not texts', () => {
    expect(eventReason(fromHex(hex(craft(raw())).replace('6176', '4176')))).toBe('bad-shape') // h'76': 1
    expect(eventReason(fromHex(hex(craft(raw())).replace('6176', '18 76'.replace(' ', ''))))).toBe('bad-shape')
  })

  it('rejects floats, null and undefined in the envelope', () => {
    for (const v of [1.5, null, undefined]) expect(eventReason(craft(raw({ t: [v, 0] })))).toBe('bad-shape')
  })

  it('rejects nesting in the envelope, also 20,000 deep, without overflowing the stack', () => {
    expect(eventReason(craft(raw({ t: [[1], 0] })))).toBe('too-deep')
    const deep = hex(craft(raw())).replace('617482', '6174' + '81'.repeat(20_000) + '80' + '6161' + '82')
    expect(eventReason(fromHex(deep), { maxEventBytes: 100_000 })).toBe('too-deep')
  })

  it('rejects indefinite-length items in the envelope', () => {
    expect(eventReason(fromHex(PREFIX + 'bf 6176 01 ff'))).toBe('malformed')
    expect(eventReason(fromHex(hex(craft(raw())).replace('6174820100', '61749f0100ff')))).toBe('malformed')
  })

  it('rejects trailing bytes after an event or a batch', () => {
    expect(eventReason(fromHex(hex(encodeEvent(message())) + '00'))).toBe('trailing-bytes')
    expect(batchReason(fromHex(hex(encodeBatch([message()])) + '00'))).toBe('trailing-bytes')
  })

  it('rejects a batch that is not an array of maps', () => {
    expect(batchReason(fromHex(PREFIX + '81 01'))).toBe('bad-shape')
    expect(batchReason(fromHex(PREFIX + '01'))).toBe('bad-shape')
  })

  it('rejects random bytes after the prefix with a typed error only, and never hangs', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), bytes => {
      const input = fromHex(PREFIX + hex(bytes))
      eventReason(input)
      batchReason(input)
    }), { numRuns: 20_000 })
  })

  it('rejects mutated valid events and batches with a typed error only', () => {
    const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
    fc.assert(fc.property(fc.array(wireEventArbitrary, { minLength: 1, maxLength: 3 }), edits, (events, changes) => {
      const event = encodeEvent(events[0])
      const batch = encodeBatch(events)
      for (const [at, value] of changes) {
        event[at % event.length] = value
        batch[at % batch.length] = value
      }
      eventReason(event)
      batchReason(batch)
    }), { numRuns: 5_000 })
  })
})
