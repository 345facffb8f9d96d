/**
 * Exact conversion between Prolog terms (term_t, through the C API of swipl-wasm) and the term
 * model of core/wire/term.ts, in both directions.
 *
 * Neither direction recurses: deep terms are walked with an explicit stack and refused past
 * `maxDepth` (the wire's rule: compounds and lists with at least one argument or element count),
 * so a term nested 20,000 deep gives a {@link TermConversionError}, never a stack overflow. Cyclic
 * Prolog terms, blobs and dicts are refused; JavaScript values are checked whole before anything
 * is built, so a refused term leaves nothing behind. Atoms are made with PL_put_chars, which keeps
 * the atom table's reference counts right; functor names are unregistered once the functor holds them.
 */
import { TermConversionError } from './errors.ts'
import { checkTerm } from './term-check.ts'
import { PL } from './swipl.ts'
import type { Swipl } from './swipl.ts'
import type { Compound, PartialList, Rational, Term } from '../wire/term.ts'

export interface ConvertLimits {
  /** @default DEFAULT_MAX_DEPTH (constants.ts) */
  readonly maxDepth: number
}

export interface TermConverter {
  /**
   * Puts `term` into the term reference `target` (allocated by the caller).
   * @returns the term reference of each variable, by its number in `term`
   * @throws TermConversionError
   */
  put (target: number, term: Term): Map<number, number>
  /**
   * Reads the term at `t`, numbering its variables in order of first appearance.
   * @throws TermConversionError
   */
  get (t: number): Term
}

const PL_ATOM_TEXT = PL.ATOM | PL.REP_UTF8
const PL_STRING_TEXT = PL.STRING | PL.REP_UTF8
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** A converter bound to one swipl-wasm module; it owns a scratch buffer in the WASM heap. */
export function termConverter (pl: Swipl, limits: ConvertLimits): TermConverter {
  const memory = scratch(pl)
  return {
    put: (target, term) => putTerm(pl, memory, limits, target, term),
    get: (t) => getTerm(pl, memory, limits, t)
  }
}

// ---------------------------------------------------------------- JavaScript -> Prolog

type PutFrame =
  | { kind: 'compound', functor: number, args: readonly Term[], av: number, next: number, target: number }
  | { kind: 'list', items: readonly Term[], tail: Term, next: number, cell: number, target: number, consPending: boolean }

function putTerm (pl: Swipl, memory: Scratch, limits: ConvertLimits, target: number, term: Term): Map<number, number> {
  const varNumbers = checkTerm(term, limits.maxDepth)
  const varRefs = new Map<number, number>()
  const first = pl._PL_new_term_refs(Math.max(varNumbers.length, 1))
  varNumbers.forEach((n, i) => { pl._PL_put_variable(first + i); varRefs.set(n, first + i) })

  const stack: PutFrame[] = []
  const begin = (value: Term, into: number): void => {
    if (!putAtomic(pl, memory, varRefs, value, into)) stack.push(frameFor(pl, memory, value, into))
  }
  begin(term, target)
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]
    if (frame.kind === 'compound') {
      if (frame.next < frame.args.length) {
        const i = frame.next++
        begin(frame.args[i], frame.av + i)
      } else {
        pl._PL_cons_functor_v(frame.target, frame.functor, frame.av)
        stack.pop()
        pl._PL_reset_term_refs(frame.av)
      }
    } else if (frame.consPending) {
      pl._PL_cons_list(frame.target, frame.cell, frame.target)
      frame.consPending = false
      frame.next--
    } else if (frame.next === frame.items.length) {
      frame.next--
      begin(frame.tail, frame.target) // lists are built from their tail backwards
    } else if (frame.next >= 0) {
      frame.consPending = true
      begin(frame.items[frame.next], frame.cell)
    } else {
      stack.pop()
      pl._PL_reset_term_refs(frame.cell)
    }
  }
  return varRefs
}

/** Puts an atomic term or a zero-arity compound; false when `value` needs a frame. */
function putAtomic (pl: Swipl, memory: Scratch, varRefs: Map<number, number>, value: Term, into: number): boolean {
  switch (typeof value) {
    case 'string': return putText(pl, memory, into, PL_STRING_TEXT, value)
    case 'number': return ok(pl._PL_put_float(into, value))
    case 'bigint': return putInteger(pl, memory, into, value)
  }
  if (Array.isArray(value)) return value.length === 0 && ok(pl._PL_put_nil(into))
  const object = value as Exclude<Term, string | number | bigint | readonly Term[]>
  if ('var' in object) return ok(pl._PL_put_term(into, varRefs.get(object.var) as number))
  if ('atom' in object) return putText(pl, memory, into, PL_ATOM_TEXT, object.atom)
  if ('numerator' in object) return putNumberText(pl, memory, into, `${object.numerator}r${object.denominator}`)
  if ('functor' in object && object.args.length === 0) {
    pl._PL_put_variable(into)
    return ok(pl._PL_unify_compound(into, functorOf(pl, memory, object.functor, 0)))
  }
  return false
}

function frameFor (pl: Swipl, memory: Scratch, value: Term, into: number): PutFrame {
  if (Array.isArray(value)) return listFrame(pl, value, [], into)
  const composite = value as Compound | PartialList
  if ('items' in composite) return listFrame(pl, composite.items, composite.tail, into)
  const av = pl._PL_new_term_refs(composite.args.length)
  const functor = functorOf(pl, memory, composite.functor, composite.args.length)
  return { kind: 'compound', functor, args: composite.args, av, next: 0, target: into }
}

function listFrame (pl: Swipl, items: readonly Term[], tail: Term, target: number): PutFrame {
  return { kind: 'list', items, tail, next: items.length, cell: pl._PL_new_term_ref(), target, consPending: false }
}

function putText (pl: Swipl, memory: Scratch, into: number, type: number, text: string): boolean {
  const { ptr, length } = memory.utf8(text)
  return ok(pl._PL_put_chars(into, type, length, ptr))
}

function putInteger (pl: Swipl, memory: Scratch, into: number, value: bigint): boolean {
  if (value >= INT64_MIN && value <= INT64_MAX) return ok(pl._PL_put_int64(into, value))
  return putNumberText(pl, memory, into, value.toString())
}

/** Bignums and rationals go through SWI-Prolog's reader, the one exact way in through the C API. */
function putNumberText (pl: Swipl, memory: Scratch, into: number, text: string): boolean {
  const { ptr, length } = memory.utf8(text)
  return ok(pl._PL_put_term_from_chars(into, PL.REP_UTF8, length, ptr))
}

function functorOf (pl: Swipl, memory: Scratch, name: string, arity: number): number {
  const { ptr, length } = memory.utf8(name)
  const atom = pl._PL_new_atom_mbchars(PL.REP_UTF8, length, ptr)
  const functor = pl._PL_new_functor(atom, arity)
  pl._PL_unregister_atom(atom) // the functor table keeps its name alive
  return functor
}

function ok (rc: number): true {
  if (rc === 0) throw new TermConversionError('not-a-term', 'SWI-Prolog refused to build the term (out of memory?)')
  return true
}

// ---------------------------------------------------------------- Prolog -> JavaScript

type GetFrame =
  | { kind: 'compound', functor: string, args: Term[], arity: number, source: number, child: number, depth: number }
  | { kind: 'list', items: Term[], cursor: number, head: number, depth: number, tail?: Term, readingTail: boolean }

function getTerm (pl: Swipl, memory: Scratch, limits: ConvertLimits, t: number): Term {
  if (pl._PL_is_acyclic(t) === 0) throw new TermConversionError('cyclic', 'cyclic terms cannot be converted')
  const reader: Reader = { pl, memory, varNumbers: new Map(), atomRef: pl._PL_new_term_ref() }
  const stack: GetFrame[] = []
  let result: Term | undefined
  const deliver = (value: Term): void => {
    const parent = stack[stack.length - 1]
    if (parent === undefined) result = value
    else if (parent.kind === 'compound') parent.args.push(value)
    else if (parent.readingTail) parent.tail = value
    else parent.items.push(value)
  }
  const begin = (ref: number, depth: number): void => {
    const leaf = readLeaf(reader, ref)
    if (leaf !== undefined) return deliver(leaf)
    if (depth + 1 > limits.maxDepth) throw new TermConversionError('too-deep', `the term is nested more than ${limits.maxDepth} deep`)
    stack.push(openFrame(reader, ref, depth + 1))
  }
  try {
    begin(t, 0)
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]
      const next = nextChild(pl, frame)
      if (next !== undefined) {
        begin(next, frame.depth)
        continue
      }
      stack.pop()
      pl._PL_reset_term_refs(frame.kind === 'compound' ? frame.child : frame.cursor)
      deliver(finish(frame))
    }
    return result as Term
  } finally {
    pl._PL_reset_term_refs(reader.atomRef)
  }
}

/** What reading one term needs: the variables seen so far and a term reference for atom names. */
interface Reader {
  readonly pl: Swipl
  readonly memory: Scratch
  readonly varNumbers: Map<number, number>
  readonly atomRef: number
}

/** The reference of the frame's next sub-term, or undefined when the frame is complete. */
function nextChild (pl: Swipl, frame: GetFrame): number | undefined {
  if (frame.kind === 'compound') {
    if (frame.args.length === frame.arity) return undefined
    pl._PL_get_arg(frame.args.length + 1, frame.source, frame.child)
    return frame.child
  }
  if (frame.readingTail) return undefined
  if (pl._PL_get_list(frame.cursor, frame.head, frame.cursor) !== 0) return frame.head
  if (pl._PL_get_nil(frame.cursor) !== 0) return undefined
  frame.readingTail = true
  return frame.cursor
}

function finish (frame: GetFrame): Term {
  if (frame.kind === 'compound') return { functor: frame.functor, args: frame.args }
  return frame.tail === undefined ? frame.items : { items: frame.items, tail: frame.tail }
}

function openFrame (reader: Reader, ref: number, depth: number): GetFrame {
  const { pl } = reader
  if (pl._PL_term_type(ref) === PL.LIST_PAIR) {
    const cursor = pl._PL_new_term_ref()
    pl._PL_put_term(cursor, ref)
    return { kind: 'list', items: [], cursor, head: pl._PL_new_term_ref(), depth, readingTail: false }
  }
  const { name, arity } = nameArity(reader, ref)
  return { kind: 'compound', functor: name, args: [], arity, source: ref, child: pl._PL_new_term_ref(), depth }
}

/** Converts an atomic term or zero-arity compound; undefined for compounds and lists with content. */
function readLeaf (reader: Reader, t: number): Term | undefined {
  const { pl, memory } = reader
  switch (pl._PL_term_type(t)) {
    case PL.VARIABLE: return { var: numberOf(reader.varNumbers, pl._WASM_variable_id(t)) }
    case PL.ATOM: return { atom: memory.text(t, PL.CVT_ATOM) }
    case PL.NIL: return []
    case PL.STRING: return memory.text(t, PL.CVT_STRING)
    case PL.INTEGER: return memory.int64(t) ?? BigInt(memory.text(t, PL.CVT_INTEGER))
    case PL.RATIONAL: return readRational(memory.text(t, PL.CVT_RATIONAL))
    case PL.FLOAT: return memory.float(t)
    case PL.TERM: {
      const { name, arity } = nameArity(reader, t)
      return arity === 0 ? { functor: name, args: [] } : undefined
    }
    case PL.LIST_PAIR: return undefined
    case PL.BLOB: throw new TermConversionError('blob', 'blobs (streams, clause references, JavaScript objects, ...) cannot be converted')
    case PL.DICT: throw new TermConversionError('dict', 'dicts cannot be converted')
    default: throw new TermConversionError('not-a-term', 'a Prolog term of an unknown type')
  }
}

function numberOf (varNumbers: Map<number, number>, id: number): number {
  let n = varNumbers.get(id)
  if (n === undefined) {
    n = varNumbers.size
    varNumbers.set(id, n)
  }
  return n
}

function readRational (text: string): Rational {
  const [numerator, denominator] = text.split('r')
  return { numerator: BigInt(numerator), denominator: BigInt(denominator) }
}

function nameArity (reader: Reader, t: number): { name: string, arity: number } {
  const { pl, memory } = reader
  pl._PL_get_name_arity(t, memory.out0, memory.out1)
  const arity = pl.getValue(memory.out1, 'i32')
  pl._PL_put_atom(reader.atomRef, pl.getValue(memory.out0, 'i32'))
  return { name: memory.text(reader.atomRef, PL.CVT_ATOM), arity }
}

// ---------------------------------------------------------------- the WASM heap

interface Scratch {
  /** Two 8-byte out-parameters. */
  readonly out0: number
  readonly out1: number
  /** `text` as UTF-8 in the heap, valid until the next call. */
  utf8 (text: string): { ptr: number, length: number }
  text (t: number, type: number): string
  int64 (t: number): bigint | undefined
  float (t: number): number
}

const scratches = new WeakMap<Swipl, Scratch>()

/** One scratch area per module: conversions are synchronous, so they never share it at once. */
function scratch (pl: Swipl): Scratch {
  let memory = scratches.get(pl)
  if (memory === undefined) {
    memory = newScratch(pl)
    scratches.set(pl, memory)
  }
  return memory
}

function newScratch (pl: Swipl): Scratch {
  const out0 = pl._malloc(16)
  const out1 = out0 + 8
  let buffer = pl._malloc(256)
  let capacity = 256
  return {
    out0,
    out1,
    utf8 (text) {
      const size = pl.lengthBytesUTF8(text) + 1
      if (size > capacity) {
        pl._free(buffer)
        capacity = Math.max(size, capacity * 2)
        buffer = pl._malloc(capacity)
      }
      return { ptr: buffer, length: pl.stringToUTF8(text, buffer, size) }
    },
    text (t, type) {
      const mark = pl._WASM_mark_string_buffers()
      try {
        if (pl._PL_get_nchars(t, out0, out1, type | PL.REP_UTF8) === 0) {
          throw new TermConversionError('not-a-term', 'SWI-Prolog did not give the text of a term')
        }
        return pl.UTF8ToString(pl.getValue(out1, '*'), pl.getValue(out0, 'i32'), true)
      } finally {
        pl._PL_release_string_buffers_from_mark(mark)
      }
    },
    int64 (t) {
      return pl._PL_get_int64(t, out0) === 0 ? undefined : pl.getValue(out0, 'i64')
    },
    float (t) {
      pl._PL_get_float(t, out0)
      return pl.getValue(out0, 'double')
    }
  }
}
