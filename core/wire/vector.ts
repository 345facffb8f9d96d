/**
 * Version vectors: what a replica holds, as origin -> n (it holds the kb events 1..n of that
 * origin). The first record of the sync protocol. On the wire (docs/wire.md, "Sync"):
 *
 *   vector = 55799({* origin: tstr => n: uint})
 *
 * Encoded and decoded here by hand, in one pass with limits, so a hostile vector costs no more
 * than its bytes.
 */
import { decodeUtf8, headSize, MAJOR_MAP, MAJOR_TEXT, MAJOR_UINT, SELF_DESCRIBED_PREFIX, writeHead } from './cbor.ts'
import { readHead, requirePrefix } from './envelope.ts'
import { InvalidEventError } from './errors.ts'

export type Vector = ReadonlyMap<string, number>

export interface VectorLimits {
  /** @default 65_536 */
  readonly maxOrigins: number
  /** UTF-8 bytes of one origin. @default 128 */
  readonly maxOriginBytes: number
}

export const DEFAULT_VECTOR_LIMITS: VectorLimits = Object.freeze({ maxOrigins: 65_536, maxOriginBytes: 128 })

const utf8 = new TextEncoder()

export function encodeVector (vector: Vector): Uint8Array {
  const keys = [...vector.keys()].map(origin => utf8.encode(origin))
  let size = SELF_DESCRIBED_PREFIX.length + headSize(vector.size)
  const values = [...vector.values()]
  keys.forEach((key, i) => { size += headSize(key.length) + key.length + headSize(values[i]) })
  const bytes = new Uint8Array(size)
  bytes.set(SELF_DESCRIBED_PREFIX)
  let pos = writeHead(bytes, SELF_DESCRIBED_PREFIX.length, MAJOR_MAP, vector.size)
  keys.forEach((key, i) => {
    pos = writeHead(bytes, pos, MAJOR_TEXT, key.length)
    bytes.set(key, pos)
    pos = writeHead(bytes, pos + key.length, MAJOR_UINT, values[i])
  })
  return bytes
}

export function decodeVector (bytes: Uint8Array, limits: Partial<VectorLimits> = {}): Map<string, number> {
  const { maxOrigins, maxOriginBytes } = { ...DEFAULT_VECTOR_LIMITS, ...limits }
  requirePrefix(bytes)
  const map = readHead(bytes, SELF_DESCRIBED_PREFIX.length)
  if (map.major !== MAJOR_MAP) throw bad('a vector is a map')
  if (map.argument > maxOrigins) throw new InvalidEventError('too-large', `a vector of ${map.argument} origins, more than ${maxOrigins}`)
  const pairs = map.argument
  let pos = map.next
  const vector = new Map<string, number>()
  for (let i = 0; i < pairs; i++) {
    const key = readHead(bytes, pos)
    if (key.major !== MAJOR_TEXT || key.argument > maxOriginBytes) throw bad('a vector key is an origin of at most maxOriginBytes')
    const start = key.next
    const end = start + key.argument
    if (end > bytes.length) throw new InvalidEventError('truncated', 'the vector ends inside an origin')
    const origin = decodeUtf8(bytes, start, end)
    if (origin === undefined) throw new InvalidEventError('bad-utf8', 'an origin is not UTF-8')
    const value = readHead(bytes, end)
    if (value.major !== MAJOR_UINT || !Number.isSafeInteger(value.argument)) throw bad('a vector value is a uint')
    if (vector.has(origin)) throw bad('an origin appears twice')
    vector.set(origin, value.argument)
    pos = value.next
  }
  if (pos !== bytes.length) throw new InvalidEventError('trailing-bytes', 'bytes after the vector')
  return vector
}

function bad (message: string): InvalidEventError {
  return new InvalidEventError('bad-field', message)
}
