/**
 * CBOR (RFC 8949) building blocks shared by the term codec and the envelope guard: the numbers of
 * the format, a growable writer and strict UTF-8 decoding. Internal to core/wire.
 */

export const MAJOR_UINT = 0
export const MAJOR_NEGINT = 1
export const MAJOR_BYTES = 2
export const MAJOR_TEXT = 3
export const MAJOR_ARRAY = 4
export const MAJOR_MAP = 5
export const MAJOR_TAG = 6

/** Additional-information values of the initial byte. */
export const INFO_UINT8 = 24
export const INFO_UINT16 = 25
export const INFO_UINT32 = 26
export const INFO_UINT64 = 27
export const INFO_INDEFINITE = 31

export const TAG_POSITIVE_BIGNUM = 2
export const TAG_NEGATIVE_BIGNUM = 3
export const TAG_ENCODED_CBOR = 24
export const TAG_OBJECT = 27 // [typename, constructor args...]: a compound
export const TAG_RATIONAL = 30
export const TAG_IDENTIFIER = 39 // an atom
export const TAG_PARTIAL_LIST = 20556 // 0x504c, "PL"
export const TAG_VARIABLE = 20566 // 0x5056, "PV"

/** Every event and batch starts with tag 55799: d9 d9 f7. */
export const SELF_DESCRIBED_PREFIX: Readonly<Uint8Array> = Uint8Array.of(0xd9, 0xd9, 0xf7)

export const SIMPLE_FALSE = 0xf4
export const SIMPLE_TRUE = 0xf5

/** Size of a head (initial byte plus argument) in preferred serialization. */
export function headSize (argument: number): number {
  if (argument < 24) return 1
  if (argument < 0x100) return 2
  if (argument < 0x10000) return 3
  if (argument < 0x100000000) return 5
  return 9
}

/**
 * Writes heads at a position of `target`; `argument` must be a non-negative safe integer.
 * Returns the position after the head.
 */
export function writeHead (target: Uint8Array, pos: number, major: number, argument: number): number {
  const high = major << 5
  if (argument < 24) {
    target[pos] = high | argument
    return pos + 1
  }
  if (argument < 0x100) {
    target[pos] = high | INFO_UINT8
    target[pos + 1] = argument
    return pos + 2
  }
  if (argument < 0x10000) {
    target[pos] = high | INFO_UINT16
    target[pos + 1] = argument >>> 8
    target[pos + 2] = argument & 0xff
    return pos + 3
  }
  if (argument < 0x100000000) {
    target[pos] = high | INFO_UINT32
    writeUint32(target, pos + 1, argument)
    return pos + 5
  }
  target[pos] = high | INFO_UINT64
  writeUint32(target, pos + 1, Math.floor(argument / 0x100000000))
  writeUint32(target, pos + 5, argument >>> 0)
  return pos + 9
}

function writeUint32 (target: Uint8Array, pos: number, value: number): void {
  target[pos] = value >>> 24
  target[pos + 1] = (value >>> 16) & 0xff
  target[pos + 2] = (value >>> 8) & 0xff
  target[pos + 3] = value & 0xff
}

// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading U+FEFF is content, not a mark.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Decodes UTF-8, or returns undefined if the bytes are not UTF-8. */
export function decodeUtf8 (bytes: Uint8Array, start: number, end: number): string | undefined {
  if (end - start <= SHORT_ASCII) {
    const ascii = decodeShortAscii(bytes, start, end)
    if (ascii !== undefined) return ascii
  }
  try {
    return strictUtf8.decode(bytes.subarray(start, end))
  } catch {
    return undefined
  }
}

// Short texts (atoms, functor names, map keys) dominate. Built from char codes in a reused array they
// cost one allocation and no native call; TextDecoder is faster from about 16 bytes on (Node 20).
const SHORT_ASCII = 16
const charCodes = Array.from({ length: SHORT_ASCII + 1 }, (_, length) => new Array<number>(length).fill(0))

function decodeShortAscii (bytes: Uint8Array, start: number, end: number): string | undefined {
  const codes = charCodes[end - start]
  for (let i = start; i < end; i++) {
    const byte = bytes[i]
    if (byte >= 0x80) return undefined
    codes[i - start] = byte
  }
  return String.fromCharCode.apply(null, codes)
}

/** True when `bytes` are UTF-8; ASCII is checked without decoding. */
export function isUtf8 (bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (bytes[i] >= 0x80) return decodeUtf8(bytes, i, end) !== undefined
  }
  return true
}

/** False for strings with a lone surrogate, which have no UTF-8 form. */
export function isWellFormed (text: string): boolean {
  // String.prototype.isWellFormed is ES2024 (Node 20, current browsers); the project's lib is ES2023.
  return (text as string & { isWellFormed: () => boolean }).isWellFormed()
}
