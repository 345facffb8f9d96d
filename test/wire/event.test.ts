import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EventEncodingError } from '../../core/wire/errors.ts'
import {
  decodeBatch, decodeEvent, encodeBatch, encodeBatches, encodeEvent, eventIdHex, isCborPayload, isKbEvent, newEventId
} from '../../core/wire/event.ts'
import { atom, compound } from '../../core/wire/term.ts'
import { wireEventArbitrary } from '../arbitraries.ts'
import { diagnostic, hex } from './diagnostic.ts'
import type { EventLimits } from '../../core/wire/limits.ts'
import type { MessageEvent, RetractEvent, WireEvent } from '../../core/wire/event.ts'
import type { Term } from '../../core/wire/term.ts'

const origin = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'

function message (term: Term = compound('temperature', atom('kitchen'), 21.5)): MessageEvent {
  return { kind: 'message', id: newEventId(), hlc: { wall: 1_732_380_000_000, counter: 0 }, origin, term }
}

describe('events', () => {
  it('round-trips random events of every kind', () => {
    fc.assert(fc.property(wireEventArbitrary, event => {
      expect(decodeEvent(encodeEvent(event))).toStrictEqual(event)
    }), { numRuns: 2000 })
  })

  it('round-trips random batches', () => {
    fc.assert(fc.property(fc.array(wireEventArbitrary, { maxLength: 20 }), events => {
      expect(decodeBatch(encodeBatch(events))).toStrictEqual(events)
    }), { numRuns: 300 })
  })

  it('puts in a batch the same bytes as the events alone', () => {
    const events = [message(), message('two'), { ...message(), kind: 'retract' as const, seq: 1, ids: [newEventId()] }]
    const bodies = events.map(e => hex(encodeEvent(e)).slice(6)).join('')
    expect(hex(encodeBatch(events))).toBe('d9d9f783' + bodies)
  })

  it('encodes an event decoded from a batch as the bytes it came in, not again', () => {
    // The term 'x' with its one-byte length written long (78 01 instead of 61): valid, not what
    // the encoder writes, so only bytes kept from decoding come back this way.
    const canonical = hex(encodeBatch([message('x')]))
    expect(canonical.endsWith('d818426178')).toBe(true)
    const received = Uint8Array.from(Buffer.from(canonical.replace(/d818426178$/, 'd81843780178'), 'hex'))
    const events = decodeBatch(received)
    expect(events[0]).toMatchObject({ kind: 'message', term: 'x' })
    expect(hex(encodeBatch(events))).toBe(hex(received))
    expect(hex(encodeBatch([{ ...events[0] }]))).toBe(canonical) // a new object is encoded afresh
  })

  it('encodes an event into batches once: a second batch reuses its bytes without reading its fields', () => {
    const event = message()
    const first = hex(encodeBatch([event]))
    Object.defineProperty(event, 'term', { get: () => { throw new Error('read again') } })
    expect(hex(encodeBatch([event]))).toBe(first)
  })

  it('starts every event and batch with d9 d9 f7', () => {
    expect(isCborPayload(encodeEvent(message()))).toBe(true)
    expect(isCborPayload(encodeBatch([]))).toBe(true)
    expect(isCborPayload(new TextEncoder().encode('%-prolog-\nsend(hello).'))).toBe(false)
    expect(isCborPayload(Uint8Array.of(0xd9, 0xd9))).toBe(false)
  })

  it('tells a batch from an event', () => {
    expect(() => decodeEvent(encodeBatch([message()]))).toThrow(expect.objectContaining({ reason: 'bad-shape' }))
    expect(() => decodeBatch(encodeEvent(message()))).toThrow(expect.objectContaining({ reason: 'bad-shape' }))
  })

  it('tells kb events (assert, retract) from the others', () => {
    const kb = { ...message(), seq: 1 }
    expect(isKbEvent({ ...kb, kind: 'assert', clause: atom('a'), front: true })).toBe(true)
    expect(isKbEvent({ ...kb, kind: 'retract', ids: [kb.id] })).toBe(true)
    expect(isKbEvent(message())).toBe(false)
    expect(isKbEvent({ ...message(), kind: 'reply', request: newEventId() })).toBe(false)
    expect(isKbEvent({ ...message(), kind: 'query', goal: atom('a'), timeout: 1, limit: 1 })).toBe(false)
  })

  it('writes the sequence number "n" of a kb event as an integer, also past 2^32', () => {
    const { id, hlc } = message()
    const retract: RetractEvent = { kind: 'retract', id, hlc, origin, seq: 2 ** 32 + 1, ids: [newEventId()] }
    expect(diagnostic(encodeEvent(retract))).toContain('"n": 4294967297')
    expect(decodeEvent(encodeEvent(retract))).toStrictEqual(retract)
  })

  it('writes the clock as integers, also past 2^32 (cbor-x would write a float64)', () => {
    const text = diagnostic(encodeEvent({ ...message(), hlc: { wall: 1_732_380_000_000, counter: 70_000 } }))
    expect(text).toContain('"t": [1732380000000, 70000]')
  })

  it('returns ids that never keep a larger buffer alive: views of the event\'s own bytes, copied out of a big frame', () => {
    const bytes = encodeEvent({ kind: 'reply', id: newEventId(), hlc: { wall: 1, counter: 2 }, origin, request: newEventId(), term: 'x' })
    const frame = new Uint8Array(64 * 1024)
    frame.set(bytes, 1000)
    const reply = decodeEvent(frame.subarray(1000, 1000 + bytes.length))
    expect(reply.id.buffer).not.toBe(frame.buffer)
    expect(reply.id.buffer.byteLength).toBe(bytes.length)
    expect(reply.kind === 'reply' && reply.request.buffer === reply.id.buffer).toBe(true)
    const [inBatch] = decodeBatch(((batch) => { const big = new Uint8Array(64 * 1024); big.set(batch); return big.subarray(0, batch.length) })(encodeBatch([reply])))
    expect(inBatch.id.buffer.byteLength).toBeLessThan(1024)
    // A Node Buffer, as sockets give them: its slice() is a view, not a copy.
    const socketRead = Buffer.alloc(64 * 1024)
    socketRead.set(bytes, 1000)
    const fromBuffer = decodeEvent(socketRead.subarray(1000, 1000 + bytes.length))
    expect(fromBuffer.id.buffer.byteLength).toBe(bytes.length)
    expect(Object.getPrototypeOf(fromBuffer.id)).toBe(Uint8Array.prototype)
  })

  it('returns fresh arrays from the encoders (cbor-x reuses its buffer)', () => {
    const a = encodeEvent(message('a'))
    const copy = hex(a)
    encodeEvent(message('b'))
    expect(hex(a)).toBe(copy)
    expect(a.byteLength).toBe(a.buffer.byteLength)
  })

  it('accepts Node Buffers as input', () => {
    const event = message()
    expect(decodeEvent(Buffer.from(encodeEvent(event)))).toStrictEqual(event)
  })

  it('makes random 16-byte ids and prints them in hex', () => {
    const ids = Array.from({ length: 100 }, newEventId)
    expect(ids.every(id => id.length === 16)).toBe(true)
    expect(new Set(ids.map(eventIdHex)).size).toBe(100)
    expect(eventIdHex(Uint8Array.from({ length: 16 }, (_, i) => i * 17))).toBe('00112233445566778899aabbccddeeff')
  })

  it('splits events into as few batches as the limits allow, in order', () => {
    const events = Array.from({ length: 50 }, (_, i) => message(`event ${i} ${'x'.repeat(i * 10)}`))
    const limits: Partial<EventLimits> = { maxBatchEvents: 8, maxBatchBytes: 2_000 }
    const batches = encodeBatches(events, limits)
    expect(batches.every(b => b.length <= 2_000)).toBe(true)
    expect(batches.flatMap(b => decodeBatch(b, limits))).toStrictEqual(events)
    expect(encodeBatches(events)).toHaveLength(1)
    expect(encodeBatches([])).toEqual([])
  })
})

describe('event encoding refuses', () => {
  const reasonOf = (event: unknown, limits: Partial<EventLimits> = {}): string => {
    try {
      encodeEvent(event as WireEvent, limits)
    } catch (err) {
      expect(err).toBeInstanceOf(EventEncodingError)
      expect(err).toHaveProperty('name', 'EventEncodingError')
      return (err as EventEncodingError).reason
    }
    return 'encoded'
  }

  it('refuses invalid fields', () => {
    const m = message()
    const invalid: unknown[] = [
      { ...m, kind: 'gossip' }, { ...m, id: new Uint8Array(15) }, { ...m, id: 'x'.repeat(16) },
      { ...m, hlc: { wall: -1, counter: 0 } }, { ...m, hlc: { wall: 1.5, counter: 0 } }, { ...m, hlc: { wall: 2 ** 53, counter: 0 } },
      { ...m, origin: '' }, { ...m, origin: 'x'.repeat(129) }, { ...m, origin: '\ud800' },
      { ...m, kind: 'request', timeout: -1 }, { ...m, kind: 'reply', request: new Uint8Array(3) },
      { ...m, kind: 'query', goal: atom('a'), timeout: 1.5, limit: 1 }, { ...m, kind: 'query', goal: atom('a'), timeout: 1, limit: -1 },
      { ...m, kind: 'cancel', request: 'x' },
      { ...m, kind: 'assert', seq: 1, clause: atom('a'), front: 'yes' }, { ...m, kind: 'retract', seq: 1, ids: [] },
      { ...m, kind: 'retract', seq: 1, ids: [new Uint8Array(16), new Uint8Array(2)] },
      ...[undefined, 0, -1, 1.5, 2 ** 53, '1', 1n].flatMap(seq => [
        { ...m, kind: 'assert', seq, clause: atom('a'), front: false }, { ...m, kind: 'retract', seq, ids: [m.id] }
      ])
    ]
    for (const event of invalid) expect(reasonOf(event)).toBe('bad-field')
  })

  it('refuses a cyclic term, with the term reason', () => {
    const args: Term[] = []
    const cyclic = { functor: 'f', args }
    args.push(cyclic)
    expect(reasonOf(message(cyclic))).toBe('cyclic')
  })

  it('refuses an event over maxEventBytes', () => {
    expect(reasonOf(message('x'.repeat(30_000)), { maxEventBytes: 20_000 })).toBe('too-large')
  })

  it('refuses a batch over maxBatchBytes or maxBatchEvents', () => {
    const events = Array.from({ length: 5 }, () => message('x'.repeat(1_000)))
    expect(() => encodeBatch(events, { maxBatchBytes: 4_000 })).toThrow(expect.objectContaining({ reason: 'too-large' }))
    expect(() => encodeBatch(events, { maxBatchEvents: 4 })).toThrow(expect.objectContaining({ reason: 'too-many-events' }))
  })
})
