/**
 * CBOR -> Term, iteratively and strictly: every byte is untrusted, every limit is checked before
 * the memory it guards is allocated, and every refusal is an InvalidTermError with a reason.
 */
import {
  INFO_INDEFINITE, INFO_UINT16, INFO_UINT32, INFO_UINT64, INFO_UINT8, MAJOR_ARRAY, MAJOR_BYTES, MAJOR_MAP,
  MAJOR_NEGINT, MAJOR_TAG, MAJOR_TEXT, MAJOR_UINT, TAG_IDENTIFIER, TAG_NEGATIVE_BIGNUM, TAG_OBJECT,
  TAG_PARTIAL_LIST, TAG_POSITIVE_BIGNUM, TAG_RATIONAL, TAG_VARIABLE, decodeUtf8
} from './cbor.ts'
import { InvalidTermError } from './errors.ts'
import { gcd, isPartialList } from './term.ts'
import type { TermRejectReason } from './errors.ts'
import type { TermLimits } from './limits.ts'
import type { Term, Var } from './term.ts'

const enum FrameKind { List, Compound, PartialList }

/** Returned by readNode when it opened a container instead of reading a whole term. */
const OPENED = Symbol('opened')

export function readTerm (bytes: Uint8Array, limits: TermLimits): Term {
  if (bytes.length > limits.maxBytes) {
    throw new InvalidTermError('too-large', `a term of ${bytes.length} bytes, over ${limits.maxBytes}`)
  }
  return new TermDecoder(bytes, limits).decode()
}

class TermDecoder {
  private pos = 0
  private readonly view: DataView
  private nodes = 1
  // The containers being read, as parallel stacks (one object fewer per container than frame objects:
  // allocation is what decoding a big batch spends its time on).
  private readonly frameKind: FrameKind[] = []
  private readonly frameChildren: Term[][] = []
  private readonly frameNext: number[] = []
  private readonly frameFunctor: string[] = []
  // Decoded variables, shared by all their occurrences; their count is the next canonical number.
  private readonly variables: Var[] = []

  constructor (private readonly bytes: Uint8Array, private readonly limits: TermLimits) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  decode (): Term {
    const { frameChildren, frameNext } = this
    let value = this.readNode()
    for (;;) {
      if (value === OPENED) {
        value = this.readNode()
        continue
      }
      const top = frameChildren.length - 1
      if (top < 0) break
      const children = frameChildren[top]
      const next = frameNext[top]
      children[next] = value
      if (next + 1 < children.length) {
        frameNext[top] = next + 1
        value = this.readNode()
      } else {
        value = this.close()
      }
    }
    if (this.pos !== this.bytes.length) this.fail('trailing-bytes', `${this.bytes.length - this.pos} bytes after the term`)
    return value
  }

  private readNode (): Term | typeof OPENED {
    const initial = this.readByte()
    const info = initial & 0x1f
    switch (initial >> 5) {
      case MAJOR_UINT: return this.readUnsigned(info)
      case MAJOR_NEGINT: return this.readNegative(info)
      case MAJOR_BYTES: return this.fail('bad-shape', 'a byte string is not a term')
      case MAJOR_TEXT: return this.readText(this.readArgument(info))
      case MAJOR_ARRAY: return this.openList(this.readArgument(info))
      case MAJOR_MAP: return this.fail('bad-shape', 'a map is not a term')
      case MAJOR_TAG: return this.readTagged(this.readArgument(info))
      default: return this.readSimple(info) // major type 7
    }
  }

  private readTagged (tag: number): Term | typeof OPENED {
    switch (tag) {
      case TAG_IDENTIFIER: return { atom: this.readText(this.expectHead(MAJOR_TEXT, 'an atom name')) }
      case TAG_OBJECT: return this.openCompound()
      case TAG_PARTIAL_LIST: return this.openPartialList()
      case TAG_VARIABLE: return this.readVariable()
      case TAG_RATIONAL: return this.readRational()
      case TAG_POSITIVE_BIGNUM: return this.readBignum(this.limits.maxBignumBytes)
      case TAG_NEGATIVE_BIGNUM: return -1n - this.readBignum(this.limits.maxBignumBytes)
      default: return this.fail('unknown-tag', `tag ${tag} is not part of the term grammar`)
    }
  }

  private openList (length: number): Term | typeof OPENED {
    if (length === 0) return []
    this.open(FrameKind.List, length, '')
    return OPENED
  }

  private openCompound (): Term | typeof OPENED {
    const length = this.expectHead(MAJOR_ARRAY, 'a compound')
    if (length === 0) this.fail('bad-shape', 'a compound needs a name')
    const functor = this.readText(this.expectHead(MAJOR_TEXT, 'a functor name'))
    if (length === 1) return { functor, args: [] }
    this.open(FrameKind.Compound, length - 1, functor)
    return OPENED
  }

  private openPartialList (): typeof OPENED {
    const length = this.expectHead(MAJOR_ARRAY, 'a partial list')
    if (length < 2) this.fail('bad-shape', 'a partial list needs at least one item and a tail')
    this.open(FrameKind.PartialList, length, '')
    return OPENED
  }

  private open (kind: FrameKind, length: number, functor: string): void {
    // Every child takes at least one byte: a longer claim is cut off, and must not allocate.
    if (length > this.bytes.length - this.pos) this.fail('truncated', `${length} children claimed, fewer bytes left`)
    this.nodes += length
    if (this.nodes > this.limits.maxNodes) this.fail('too-many-nodes', `more than ${this.limits.maxNodes} nodes`)
    if (this.frameKind.length >= this.limits.maxDepth) this.fail('too-deep', `nested deeper than ${this.limits.maxDepth}`)
    this.frameKind.push(kind)
    this.frameChildren.push(new Array<Term>(length))
    this.frameNext.push(0)
    this.frameFunctor.push(functor)
  }

  /** Pops the finished top container and builds its term. */
  private close (): Term {
    const kind = this.frameKind.pop()
    const children = this.frameChildren.pop() as Term[]
    const functor = this.frameFunctor.pop() as string
    this.frameNext.pop()
    switch (kind) {
      case FrameKind.Compound: return { functor, args: children }
      case FrameKind.PartialList: {
        const tail = children.pop() as Term
        if (Array.isArray(tail) || isPartialList(tail)) {
          this.fail('bad-shape', 'a partial list tail must not be a list (encoders normalise it)')
        }
        return { items: children, tail }
      }
      default: return children
    }
  }

  /** Variables must be numbered by first appearance: each number at most one above the greatest so far. */
  private readVariable (): Var {
    const n = this.expectHead(MAJOR_UINT, 'a variable number')
    const { variables } = this
    if (n > variables.length) this.fail('bad-shape', `variable ${n} before variable ${variables.length} (not canonical)`)
    if (n === variables.length) variables.push({ var: n })
    return variables[n]
  }

  private readRational (): Term {
    if (this.expectHead(MAJOR_ARRAY, 'a rational') !== 2) this.fail('bad-shape', 'a rational is [numerator, denominator]')
    const numerator = this.readInteger(this.limits.maxRationalBytes)
    const denominator = this.readInteger(this.limits.maxRationalBytes)
    if (denominator <= 1n || gcd(numerator, denominator) !== 1n) {
      this.fail('bad-shape', 'a rational needs a denominator > 1 and gcd(numerator, denominator) = 1')
    }
    return { numerator, denominator }
  }

  private readInteger (maxBytes: number): bigint {
    const initial = this.readByte()
    const info = initial & 0x1f
    switch (initial >> 5) {
      case MAJOR_UINT: return this.readUnsigned(info)
      case MAJOR_NEGINT: return this.readNegative(info)
      case MAJOR_TAG: {
        const tag = this.readArgument(info)
        if (tag === TAG_POSITIVE_BIGNUM) return this.readBignum(maxBytes)
        if (tag === TAG_NEGATIVE_BIGNUM) return -1n - this.readBignum(maxBytes)
      }
    }
    return this.fail('bad-shape', 'a rational part must be an integer')
  }

  /** Any magnitude width is read (leading zeros too); encoders write the shortest. */
  private readBignum (maxBytes: number): bigint {
    const length = this.expectHead(MAJOR_BYTES, 'a bignum')
    if (length > maxBytes) this.fail('bignum-too-large', `a bignum of ${length} bytes, over ${maxBytes}`)
    this.need(length)
    let hex = '0x0'
    for (let i = this.pos; i < this.pos + length; i++) hex += HEX_BYTES[this.bytes[i]]
    this.pos += length
    return BigInt(hex)
  }

  private readSimple (info: number): number {
    switch (info) {
      case INFO_UINT16: return float16ToNumber(this.readUint(2))
      case INFO_UINT32: this.need(4); this.pos += 4; return this.view.getFloat32(this.pos - 4)
      case INFO_UINT64: this.need(8); this.pos += 8; return this.view.getFloat64(this.pos - 8)
      case INFO_INDEFINITE: return this.fail('malformed', 'a break outside an indefinite-length item')
      case 28: case 29: case 30: return this.fail('malformed', `reserved additional information ${info}`)
      default: return this.fail('bad-shape', 'simple values (false, true, null, undefined, ...) are not terms')
    }
  }

  private readText (length: number): string {
    if (length > this.limits.maxTextBytes) this.fail('text-too-long', `a text of ${length} bytes, over ${this.limits.maxTextBytes}`)
    this.need(length)
    const text = decodeUtf8(this.bytes, this.pos, this.pos + length)
    if (text === undefined) this.fail('bad-utf8', 'a text string that is not UTF-8')
    this.pos += length
    return text
  }

  /** Reads a head that must have the given major type; returns its argument. */
  private expectHead (major: number, what: string): number {
    const initial = this.readByte()
    if (initial >> 5 !== major) this.fail('bad-shape', `${what} has the wrong CBOR type`)
    return this.readArgument(initial & 0x1f)
  }

  /** A head's argument as a number: exact up to 2^53, which is beyond any length or tag this reads. */
  private readArgument (info: number): number {
    if (info < INFO_UINT8) return info
    if (info === INFO_UINT64) return this.readUint(4) * 0x100000000 + this.readUint(4)
    if (info <= INFO_UINT32) return this.readUint(1 << (info - INFO_UINT8))
    if (info === INFO_INDEFINITE) return this.fail('malformed', 'indefinite-length items are not accepted')
    return this.fail('malformed', `reserved additional information ${info}`)
  }

  private readUnsigned (info: number): bigint {
    if (info < INFO_UINT8) return SMALL_BIGINTS[info]
    if (info !== INFO_UINT64) {
      const n = this.readArgument(info)
      return n < SMALL_BIGINTS.length ? SMALL_BIGINTS[n] : BigInt(n)
    }
    this.need(8)
    this.pos += 8
    return this.view.getBigUint64(this.pos - 8)
  }

  private readNegative (info: number): bigint {
    const n = this.readUnsigned(info)
    return n < SMALL_NEGATIVE_BIGINTS.length ? SMALL_NEGATIVE_BIGINTS[Number(n)] : -1n - n
  }

  private readUint (size: number): number {
    this.need(size)
    let value = 0
    for (let i = 0; i < size; i++) value = value * 0x100 + this.bytes[this.pos + i]
    this.pos += size
    return value
  }

  private readByte (): number {
    this.need(1)
    return this.bytes[this.pos++]
  }

  private need (count: number): void {
    if (count > this.bytes.length - this.pos) this.fail('truncated', `${count} more bytes needed at offset ${this.pos}`)
  }

  private fail (reason: TermRejectReason, message: string): never {
    throw new InvalidTermError(reason, message)
  }
}

// Small integers are the most common numbers; sharing their bigints saves an allocation each.
const SMALL_BIGINTS = Array.from({ length: 256 }, (_, i) => BigInt(i))
const SMALL_NEGATIVE_BIGINTS = SMALL_BIGINTS.map(n => -1n - n)
const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

// 2 ** (exponent - 25) for each float16 exponent; subnormals (exponent 0) scale like exponent 1.
const FLOAT16_SCALE = Array.from({ length: 32 }, (_, e) => 2 ** (Math.max(e, 1) - 25))

function float16ToNumber (bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * FLOAT16_SCALE[0]
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN
  return sign * (0x400 + mantissa) * FLOAT16_SCALE[exponent]
}
