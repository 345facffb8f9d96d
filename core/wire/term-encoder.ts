/**
 * Term -> CBOR, iteratively (an explicit stack, so term depth never touches the JS call stack).
 *
 * Output is the preferred serialization of docs/wire.md: shortest heads, shortest exact float,
 * variables renumbered by first appearance, partial lists normalised. So terms that are equal up to
 * variable renaming (=@=) give identical bytes, and bytes can be hashed and compared.
 */
import {
  INFO_UINT64, MAJOR_ARRAY, MAJOR_BYTES, MAJOR_NEGINT, MAJOR_TAG, MAJOR_TEXT, MAJOR_UINT, TAG_IDENTIFIER, TAG_NEGATIVE_BIGNUM,
  TAG_OBJECT, TAG_PARTIAL_LIST, TAG_POSITIVE_BIGNUM, TAG_RATIONAL, TAG_VARIABLE, headSize, isWellFormed, writeHead
} from './cbor.ts'
import { TermEncodingError } from './errors.ts'
import { gcd } from './term.ts'
import type { TermEncodingReason } from './errors.ts'
import type { TermLimits } from './limits.ts'
import type { PartialList, Rational, Term } from './term.ts'

const UINT32_MAX = 0xffffffffn
const UINT64_MAX = 0xffffffffffffffffn
const SCRATCH_BYTES = 16 * 1024
// A scratch buffer that grew past this for one huge term is dropped rather than kept for good.
const KEEP_SCRATCH_BYTES = 256 * 1024
// Below this length a string is written by hand: cheaper than a native call, and it sees lone surrogates.
const SHORT_TEXT = 64

let scratch: Uint8Array = new Uint8Array(SCRATCH_BYTES)

/** Encodes one term; returns a fresh array (never a view of the shared scratch buffer). */
export function writeTerm (term: Term, limits: TermLimits): Uint8Array {
  const encoder = new TermEncoder(scratch, limits)
  encoder.encode(term)
  const bytes = encoder.bytes.slice(0, encoder.pos)
  scratch = encoder.bytes.length <= KEEP_SCRATCH_BYTES ? encoder.bytes : new Uint8Array(SCRATCH_BYTES)
  return bytes
}

class TermEncoder {
  bytes: Uint8Array
  pos = 0
  private view: DataView
  private nodes = 1
  // Frames of the containers being written: their children, and how many are written already.
  private readonly frameChildren: Array<readonly Term[]> = []
  private readonly frameNext: number[] = []
  private variables: Map<number, number> | undefined
  private root: Term = []

  constructor (buffer: Uint8Array, private readonly limits: TermLimits) {
    this.bytes = buffer
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  }

  encode (root: Term): void {
    this.root = root
    this.writeNode(root)
    const { frameChildren, frameNext } = this
    while (frameChildren.length > 0) {
      const top = frameChildren.length - 1
      const children = frameChildren[top]
      const next = frameNext[top]
      if (next === children.length) {
        frameChildren.pop()
        frameNext.pop()
        continue
      }
      frameNext[top] = next + 1
      this.writeNode(children[next])
    }
    if (this.pos > this.limits.maxBytes) this.fail('too-large', `the term encodes to ${this.pos} bytes, over ${this.limits.maxBytes}`)
  }

  /** Writes an atomic term whole, or a container's head and pushes a frame for its children. */
  private writeNode (t: Term): void {
    switch (typeof t) {
      case 'string': return this.writeText(t)
      case 'bigint': return this.writeInteger(t, this.limits.maxBignumBytes)
      case 'number': return this.writeFloat(t)
      case 'object': return this.writeStructure(t)
      default: return this.fail('not-a-term', `a ${typeof t} is not a term`)
    }
  }

  private writeStructure (t: Exclude<Term, string | bigint | number>): void {
    if (t === null) return this.fail('not-a-term', 'null is not a term')
    if (Array.isArray(t)) return this.writeList(t as readonly Term[])
    if ('atom' in t) return this.writeAtom(t.atom)
    if ('functor' in t) return this.writeCompound(t.functor, t.args)
    if ('var' in t) return this.writeVariable(t.var)
    if ('items' in t) return this.writePartialList(t)
    if ('numerator' in t) return this.writeRational(t)
    this.fail('not-a-term', `an object with keys [${Object.keys(t).join(', ')}] is not a term`)
  }

  private writeAtom (name: unknown): void {
    if (typeof name !== 'string') return this.fail('not-a-term', 'an atom name must be a string')
    this.writeTag(TAG_IDENTIFIER)
    this.writeText(name)
  }

  private writeCompound (functor: unknown, args: unknown): void {
    if (typeof functor !== 'string') return this.fail('not-a-term', 'a functor must be a string')
    if (!Array.isArray(args)) return this.fail('not-a-term', 'compound args must be an array')
    this.writeTag(TAG_OBJECT)
    this.writeHeadOf(MAJOR_ARRAY, args.length + 1)
    this.writeText(functor)
    this.enter(args as readonly Term[])
  }

  private writeList (items: readonly Term[]): void {
    this.writeHeadOf(MAJOR_ARRAY, items.length)
    this.enter(items)
  }

  private writeVariable (n: unknown): void {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      return this.fail('not-a-term', 'a variable number must be a non-negative integer')
    }
    this.variables ??= new Map()
    let canonical = this.variables.get(n)
    if (canonical === undefined) {
      canonical = this.variables.size
      this.variables.set(n, canonical)
    }
    this.writeTag(TAG_VARIABLE)
    this.writeHeadOf(MAJOR_UINT, canonical)
  }

  /** Writes the normal form: items of nested partial lists joined; a list tail makes it a proper list. */
  private writePartialList (list: PartialList): void {
    const { items, tail } = this.flatten(list)
    if (Array.isArray(tail)) {
      this.writeList(items.concat(tail as readonly Term[]))
    } else if (items.length === 0) {
      this.writeNode(tail)
    } else {
      this.writeTag(TAG_PARTIAL_LIST)
      this.writeHeadOf(MAJOR_ARRAY, items.length + 1)
      items.push(tail)
      this.enter(items)
    }
  }

  private flatten (list: PartialList): { items: Term[], tail: Term } {
    const items: Term[] = []
    let tail: Term = list
    let links = 0
    while (typeof tail === 'object' && tail !== null && 'items' in tail) {
      if (!Array.isArray(tail.items)) this.fail('not-a-term', 'partial list items must be an array')
      // An empty-items link adds no node, so links are bounded separately: a tail pointing back never ends.
      if (++links > this.limits.maxNodes) this.failOverLimit('too-many-nodes', 'too many partial list links')
      for (const item of tail.items) items.push(item)
      tail = tail.tail
    }
    return { items, tail }
  }

  private writeRational ({ numerator, denominator }: Rational): void {
    if (typeof numerator !== 'bigint' || typeof denominator !== 'bigint' || denominator <= 1n) {
      return this.fail('not-a-term', 'a rational needs bigint parts and a denominator > 1')
    }
    this.writeTag(TAG_RATIONAL)
    this.writeHeadOf(MAJOR_ARRAY, 2)
    this.writeInteger(numerator, this.limits.maxRationalBytes)
    this.writeInteger(denominator, this.limits.maxRationalBytes)
    // After the size checks of the writes: gcd costs time quadratic in the size.
    if (gcd(numerator, denominator) !== 1n) this.fail('not-a-term', 'a rational must be reduced (gcd 1)')
  }

  private enter (children: readonly Term[]): void {
    if (children.length === 0) return
    this.nodes += children.length
    if (this.nodes > this.limits.maxNodes) this.failOverLimit('too-many-nodes', `more than ${this.limits.maxNodes} nodes`)
    if (this.frameChildren.length >= this.limits.maxDepth) this.failOverLimit('too-deep', `nested deeper than ${this.limits.maxDepth}`)
    this.frameChildren.push(children)
    this.frameNext.push(0)
  }

  private writeInteger (n: bigint, maxBignumBytes: number): void {
    const negative = n < 0n
    const magnitude = negative ? -1n - n : n // CBOR negative integers carry -1 - n
    const major = negative ? MAJOR_NEGINT : MAJOR_UINT
    if (magnitude <= UINT32_MAX) return this.writeHeadOf(major, Number(magnitude))
    if (magnitude <= UINT64_MAX) {
      this.reserve(9)
      this.bytes[this.pos] = (major << 5) | INFO_UINT64
      this.view.setBigUint64(this.pos + 1, magnitude)
      this.pos += 9
      return
    }
    this.writeBignum(negative ? TAG_NEGATIVE_BIGNUM : TAG_POSITIVE_BIGNUM, magnitude, maxBignumBytes)
  }

  private writeBignum (tag: number, magnitude: bigint, maxBytes: number): void {
    let hex = magnitude.toString(16)
    if (hex.length % 2 === 1) hex = '0' + hex
    const length = hex.length / 2
    if (length > maxBytes) this.fail('bignum-too-large', `an integer of ${length} bytes, over ${maxBytes}`)
    this.writeTag(tag)
    this.writeHeadOf(MAJOR_BYTES, length)
    this.reserve(length)
    for (let i = 0; i < length; i++) this.bytes[this.pos + i] = parseInt(hex.substring(2 * i, 2 * i + 2), 16)
    this.pos += length
  }

  /** The shortest of float16/32/64 that holds the value exactly; NaN as the canonical f16 NaN. */
  private writeFloat (x: number): void {
    this.reserve(9)
    const half = Number.isNaN(x) ? 0x7e00 : exactFloat16(x)
    if (half !== undefined) {
      this.bytes[this.pos] = 0xf9
      this.view.setUint16(this.pos + 1, half)
      this.pos += 3
    } else if (Math.fround(x) === x) {
      this.bytes[this.pos] = 0xfa
      this.view.setFloat32(this.pos + 1, x)
      this.pos += 5
    } else {
      this.bytes[this.pos] = 0xfb
      this.view.setFloat64(this.pos + 1, x)
      this.pos += 9
    }
  }

  private writeText (text: string): void {
    // UTF-8 takes at least one byte per UTF-16 code unit, so this refuses before writing anything.
    if (text.length > this.limits.maxTextBytes) this.textTooLong(text.length)
    if (text.length >= SHORT_TEXT || !this.writeAscii(text)) this.writeUtf8(text)
    // Checked per text, so a term that repeats one long string by reference cannot grow the buffer unbounded.
    if (this.pos > this.limits.maxBytes) this.fail('too-large', `the term encodes to more than ${this.limits.maxBytes} bytes`)
  }

  /** Writes a short ASCII text; false (and nothing written) when the text is not ASCII. */
  private writeAscii (text: string): boolean {
    const length = text.length
    this.reserve(9 + length)
    const { bytes } = this
    const start = writeHead(bytes, this.pos, MAJOR_TEXT, length)
    for (let i = 0; i < length; i++) {
      const c = text.charCodeAt(i)
      if (c >= 0x80) return false
      bytes[start + i] = c
    }
    this.pos = start + length
    return true
  }

  private writeUtf8 (text: string): void {
    const maxLength = text.length * 3 // UTF-16 code units -> at most 3 UTF-8 bytes each
    const guessedHead = headSize(maxLength)
    this.reserve(guessedHead + maxLength)
    const start = this.pos + guessedHead
    const length = text.length < SHORT_TEXT ? writeShortUtf8(text, this.bytes, start) : this.writeLongUtf8(text, start)
    if (length < 0) return this.fail('not-a-term', 'a string with a lone surrogate has no UTF-8 form')
    if (length > this.limits.maxTextBytes) this.textTooLong(length)
    const head = headSize(length)
    if (head < guessedHead) this.bytes.copyWithin(this.pos + head, start, start + length)
    writeHead(this.bytes, this.pos, MAJOR_TEXT, length)
    this.pos += head + length
  }

  private textTooLong (length: number): never {
    this.fail('text-too-long', `a text of at least ${length} bytes, over ${this.limits.maxTextBytes}`)
  }

  private writeLongUtf8 (text: string, start: number): number {
    if (!isWellFormed(text)) return -1
    return utf8Encoder.encodeInto(text, this.bytes.subarray(start)).written
  }

  private writeTag (tag: number): void {
    this.writeHeadOf(MAJOR_TAG, tag)
  }

  private writeHeadOf (major: number, argument: number): void {
    this.reserve(9)
    this.pos = writeHead(this.bytes, this.pos, major, argument)
  }

  private reserve (n: number): void {
    if (this.pos + n <= this.bytes.length) return
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.pos + n))
    grown.set(this.bytes.subarray(0, this.pos))
    this.bytes = grown
    this.view = new DataView(grown.buffer)
  }

  /** Over a depth or node limit: a cyclic structure gets there too, and deserves the better reason. */
  private failOverLimit (reason: TermEncodingReason, message: string): never {
    if (isCyclic(this.root)) this.fail('cyclic', 'the term refers to itself (a cyclic structure)')
    this.fail(reason, message)
  }

  private fail (reason: TermEncodingReason, message: string): never {
    throw new TermEncodingError(reason, message)
  }
}

const utf8Encoder = new TextEncoder()

/** Writes UTF-8; returns the byte count, or -1 at a lone surrogate. */
function writeShortUtf8 (text: string, target: Uint8Array, start: number): number {
  let pos = start
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i)
    if (c < 0x80) {
      target[pos++] = c
    } else if (c < 0x800) {
      target[pos++] = 0xc0 | (c >> 6)
      target[pos++] = 0x80 | (c & 0x3f)
    } else if (c < 0xd800 || c > 0xdfff) {
      target[pos++] = 0xe0 | (c >> 12)
      target[pos++] = 0x80 | ((c >> 6) & 0x3f)
      target[pos++] = 0x80 | (c & 0x3f)
    } else {
      const low = text.charCodeAt(i + 1)
      if (c > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) return -1
      c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00)
      i++
      target[pos++] = 0xf0 | (c >> 18)
      target[pos++] = 0x80 | ((c >> 12) & 0x3f)
      target[pos++] = 0x80 | ((c >> 6) & 0x3f)
      target[pos++] = 0x80 | (c & 0x3f)
    }
  }
  return pos - start
}

const float32 = new Float32Array(1)
const float32Bits = new Uint32Array(float32.buffer)

/** The float16 bits of x when float16 holds x exactly (NaN excluded), else undefined. */
function exactFloat16 (x: number): number | undefined {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0
  if (x === Infinity) return 0x7c00
  if (x === -Infinity) return 0xfc00
  if (Math.fround(x) !== x) return undefined
  float32[0] = x
  const bits = float32Bits[0]
  const sign = (bits >>> 16) & 0x8000
  const exponent = ((bits >>> 23) & 0xff) - 127
  const mantissa = bits & 0x7fffff
  if (exponent >= -14 && exponent <= 15) {
    return (mantissa & 0x1fff) === 0 ? sign | ((exponent + 15) << 10) | (mantissa >>> 13) : undefined
  }
  if (exponent >= -24 && exponent < -14) {
    const steps = Math.abs(x) * 2 ** 24 // exact: a power-of-two scale; float16 subnormals are multiples of 2^-24
    return Number.isInteger(steps) ? sign | steps : undefined
  }
  return undefined
}

/** True when following arguments, elements, items and tails from `root` comes back to an object on the path. */
function isCyclic (root: Term): boolean {
  const finished = new Set<object>()
  const onPath = new Set<object>()
  const path: Array<{ node: object, children: readonly unknown[], next: number }> = []
  const visit = (node: unknown): boolean => {
    if (typeof node !== 'object' || node === null || finished.has(node)) return false
    if (onPath.has(node)) return true
    onPath.add(node)
    path.push({ node, children: childrenOf(node), next: 0 })
    return false
  }
  if (visit(root)) return true
  while (path.length > 0) {
    const top = path[path.length - 1]
    if (top.next === top.children.length) {
      path.pop()
      onPath.delete(top.node)
      finished.add(top.node)
    } else if (visit(top.children[top.next++])) {
      return true
    }
  }
  return false
}

function childrenOf (node: object): readonly unknown[] {
  if (Array.isArray(node)) return node
  if ('args' in node && Array.isArray(node.args)) return node.args
  if ('items' in node && Array.isArray(node.items)) return [...node.items, 'tail' in node ? node.tail : undefined]
  return []
}
