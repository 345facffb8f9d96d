/**
 * The part of a swipl-wasm module the engine uses, typed. swipl-wasm ships thin types (`Prolog` has
 * three methods), so the C API functions the Emscripten build exports (`Module._PL_*`) and the
 * Emscripten memory helpers are declared here, and {@link asSwipl} checks they are there.
 *
 * Handles (term_t, atom_t, functor_t, qid_t, engines) and pointers are plain numbers; every
 * function here runs in the current Prolog engine (see {@link withEngine}).
 */

type Fn0 = () => number
type Fn1 = (a: number) => number
type Fn2 = (a: number, b: number) => number
type Fn3 = (a: number, b: number, c: number) => number
type Fn4 = (a: number, b: number, c: number, d: number) => number

export interface Swipl {
  _malloc: Fn1
  _free: (ptr: number) => void
  getValue: ((ptr: number, type: 'i32' | '*') => number) & ((ptr: number, type: 'i64') => bigint) & ((ptr: number, type: 'double') => number)
  UTF8ToString: (ptr: number, maxBytes: number, ignoreNul: boolean) => string
  stringToUTF8: (text: string, ptr: number, maxBytes: number) => number
  lengthBytesUTF8: (text: string) => number
  /** swipl-wasm's own JavaScript interface; used only to exchange JavaScript values with await/2. */
  prolog: {
    toJSON: (t: number) => unknown
    set_yield_result: (value: unknown) => void
  }
  FS: { mkdir: (path: string) => void, writeFile: (path: string, data: string) => void, analyzePath: (path: string) => { exists: boolean } }

  _PL_new_term_ref: Fn0
  _PL_new_term_refs: Fn1
  _PL_reset_term_refs: (t: number) => void
  _PL_open_foreign_frame: Fn0
  _PL_discard_foreign_frame: (fid: number) => void
  _PL_term_type: Fn1
  _PL_is_acyclic: Fn1
  _WASM_variable_id: Fn1

  _PL_put_variable: Fn1
  _PL_put_nil: Fn1
  _PL_put_atom: Fn2
  _PL_put_term: Fn2
  _PL_put_float: Fn2
  _PL_put_int64: (t: number, value: bigint) => number
  _PL_put_chars: Fn4
  _PL_put_term_from_chars: Fn4
  _PL_new_atom_mbchars: Fn3
  _PL_unregister_atom: (atom: number) => void
  _PL_new_functor: Fn2
  _PL_cons_functor_v: Fn3
  _PL_unify_compound: Fn2
  _PL_cons_list: Fn3

  _PL_get_nchars: Fn4
  _PL_get_int64: Fn2
  _PL_get_float: Fn2
  _PL_get_name_arity: Fn3
  _PL_get_arg: Fn3
  _PL_get_list: Fn3
  _PL_get_nil: Fn1
  _WASM_mark_string_buffers: Fn0
  _PL_release_string_buffers_from_mark: (mark: number) => void

  _PL_predicate: Fn3
  _PL_open_query: Fn4
  _PL_next_solution: Fn1
  _PL_cut_query: Fn1
  _PL_exception: Fn1
  _PL_call_predicate: Fn4
  _PL_create_engine: Fn1
  _PL_destroy_engine: Fn1
  __PL_switch_engine: Fn1
  __PL_reset_engine: Fn1
  _WASM_yield_request: Fn0
}

/** Values of SWI-Prolog.h that the engine uses. */
export const PL = {
  VARIABLE: 1,
  ATOM: 2,
  INTEGER: 3,
  RATIONAL: 4,
  FLOAT: 5,
  STRING: 6,
  TERM: 7,
  NIL: 8,
  BLOB: 9,
  LIST_PAIR: 10,
  DICT: 44,
  CVT_ATOM: 0x1,
  CVT_STRING: 0x2,
  CVT_INTEGER: 0x8,
  CVT_RATIONAL: 0x10,
  REP_UTF8: 0x100000,
  Q_NODEBUG: 0x4,
  Q_CATCH_EXCEPTION: 0x8,
  Q_ALLOW_YIELD: 0x20,
  Q_EXT_STATUS: 0x40,
  S_FALSE: 0,
  S_TRUE: 1,
  S_LAST: 2,
  S_YIELD: 255
} as const

const REQUIRED: ReadonlyArray<keyof Swipl> = ['_malloc', '_PL_new_term_ref', '_PL_put_int64', '_PL_unify_compound',
  '_PL_get_nchars', '_WASM_variable_id', '_PL_create_engine', '__PL_switch_engine', '_WASM_yield_request', 'UTF8ToString']

/** The module made by swipl-wasm's factory, checked to have what the engine uses. */
export function asSwipl (module: unknown): Swipl {
  const candidate = module as Record<string, unknown>
  const missing = REQUIRED.filter(name => typeof candidate[name] !== 'function')
  if (missing.length > 0) throw new Error(`swipl-wasm module lacks ${missing.join(', ')}`)
  return module as Swipl
}

/** Runs `fn` with `engine` as the current Prolog engine, and switches back. */
export function withEngine<T> (pl: Swipl, engine: number, fn: () => T): T {
  const previous = pl.__PL_switch_engine(engine)
  try {
    return fn()
  } finally {
    pl.__PL_reset_engine(previous)
  }
}

/** Runs `fn` inside a foreign frame whose term references and bindings are discarded afterwards. */
export function inFrame<T> (pl: Swipl, fn: () => T): T {
  const frame = pl._PL_open_foreign_frame()
  try {
    return fn()
  } finally {
    pl._PL_discard_foreign_frame(frame)
  }
}

/** Looks a predicate up (`PL_predicate`); handles are permanent, so callers keep them. */
export function predicate (pl: Swipl, module: string, name: string, arity: number): number {
  return withCString(pl, name, namePtr => withCString(pl, module, modulePtr => pl._PL_predicate(namePtr, arity, modulePtr)))
}

function withCString<T> (pl: Swipl, text: string, fn: (ptr: number) => T): T {
  const size = pl.lengthBytesUTF8(text) + 1
  const ptr = pl._malloc(size)
  try {
    pl.stringToUTF8(text, ptr, size)
    return fn(ptr)
  } finally {
    pl._free(ptr)
  }
}
