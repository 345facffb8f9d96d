/**
 * CBOR diagnostic notation (RFC 8949 section 8, with EDN's `<<...>>` for embedded CBOR), written
 * from bytes by a decoder independent of the codec under test, so that the examples of
 * docs/wire.md are checked against what the encoder really writes. Test-only: it recurses.
 */

export function diagnostic (bytes: Uint8Array): string {
  const reader = { bytes, pos: 0 }
  const text = item(reader)
  if (reader.pos !== bytes.length) throw new Error(`trailing bytes at ${reader.pos}`)
  return text
}

export function hex (bytes: Uint8Array): string {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('')
}

export function fromHex (text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '')
  return Uint8Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16))
}

interface Reader { bytes: Uint8Array, pos: number }

function item (r: Reader): string {
  const initial = r.bytes[r.pos++]
  const major = initial >> 5
  const info = initial & 0x1f
  if (major === 7) return simple(r, info)
  const argument = readArgument(r, info)
  switch (major) {
    case 0: return argument.toString()
    case 1: return (-1n - argument).toString()
    case 2: return `h'${hex(take(r, Number(argument)))}'`
    case 3: return JSON.stringify(new TextDecoder().decode(take(r, Number(argument))))
    case 4: return `[${Array.from({ length: Number(argument) }, () => item(r)).join(', ')}]`
    case 5: return `{${Array.from({ length: Number(argument) }, () => `${item(r)}: ${item(r)}`).join(', ')}}`
    default: return tagged(r, Number(argument))
  }
}

function tagged (r: Reader, tag: number): string {
  if (tag === 24 && r.bytes[r.pos] >> 5 === 2) {
    const initial = r.bytes[r.pos++]
    const content = take(r, Number(readArgument(r, initial & 0x1f)))
    return `24(<<${diagnostic(content)}>>)`
  }
  return `${tag}(${item(r)})`
}

function simple (r: Reader, info: number): string {
  const view = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.pos)
  switch (info) {
    case 20: return 'false'
    case 21: return 'true'
    case 22: return 'null'
    case 23: return 'undefined'
    case 25: r.pos += 2; return float(half(view.getUint16(0)))
    case 26: r.pos += 4; return float(view.getFloat32(0))
    case 27: r.pos += 8; return float(view.getFloat64(0))
    default: return `simple(${info})`
  }
}

function float (x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity'
  if (Object.is(x, -0)) return '-0.0'
  const text = String(x)
  return /[.e]/.test(text) ? text : `${text}.0`
}

function half (bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN
  return sign * (1024 + mantissa) * 2 ** (exponent - 25)
}

function readArgument (r: Reader, info: number): bigint {
  if (info < 24) return BigInt(info)
  const size = 1 << (info - 24)
  return take(r, size).reduce((value, byte) => value * 256n + BigInt(byte), 0n)
}

function take (r: Reader, length: number): Uint8Array {
  const part = r.bytes.subarray(r.pos, r.pos + length)
  r.pos += length
  return part
}
