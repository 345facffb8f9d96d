/**
 * How deeply the brackets of Prolog text nest, found without parsing it.
 *
 * SWI-Prolog's reader recurses in C once per bracket level, and the WASM build's C stack ends
 * after about 1,100 levels: deeper text overwrites memory and kills the worker (measured with
 * swipl-wasm 8.0.5, SWI-Prolog 10.1.10). So untrusted text is measured here first.
 *
 * The measure never falls below what the reader sees. Brackets inside quoted text and comments
 * do not count; but where this scanner and the reader could disagree about what is quoted
 * (radix numbers `16'FF`, escapes such as `\x41\`, `0''`, `/*` after a symbol character), it
 * stops trusting itself: from there on every opening bracket counts and no closing one does.
 */

type State = 'code' | 'quoted' | 'line-comment' | 'block-comment'

const OPENING = new Set(['(', '[', '{'])
const OPEN_PAREN = 0x28
const OPEN_BRACKET = 0x5b
const OPEN_BRACE = 0x7b
const CLOSING = new Set([')', ']', '}'])
const QUOTES = new Set(["'", '"', '`'])
const SYMBOL_CHARS = new Set('#$&*+-./:<=>?@^~\\')

/**
 * Whether the reader could meet brackets nested deeper than `limit` in `text`. The nesting never
 * exceeds the number of opening brackets, so text with at most `limit` of them is let through
 * after one count of character codes, and only the rest is scanned (a 1 KiB datagram: about
 * 1 µs instead of 25–40 µs).
 */
export function nestsDeeperThan (text: string, limit: number): boolean {
  let opening = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if ((c === OPEN_PAREN || c === OPEN_BRACKET || c === OPEN_BRACE) && ++opening > limit) return textNesting(text) > limit
  }
  return false
}

/** An upper bound of the bracket nesting the reader meets in `text`. */
export function textNesting (text: string): number {
  const scan = { state: 'code' as State, quote: '', trusted: true, depth: 0, max: 0 }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (OPENING.has(c) && (scan.state === 'code' || !scan.trusted)) {
      scan.depth++
      if (scan.depth > scan.max) scan.max = scan.depth
    } else if (CLOSING.has(c) && scan.state === 'code' && scan.trusted) {
      scan.depth = Math.max(0, scan.depth - 1)
    }
    i = step(text, i, scan)
  }
  return scan.max
}

interface Scan { state: State, quote: string, trusted: boolean }

/** Moves the scanner past the character at `i`; returns the index of the last character consumed. */
function step (text: string, i: number, scan: Scan): number {
  const c = text[i]
  switch (scan.state) {
    case 'line-comment':
      if (c === '\n') scan.state = 'code'
      return i
    case 'block-comment':
      if (c === '*' && text[i + 1] === '/') {
        scan.state = 'code'
        return i + 1
      }
      return i
    case 'quoted':
      return stepQuoted(text, i, scan)
    case 'code':
      return stepCode(text, i, scan)
  }
}

function stepQuoted (text: string, i: number, scan: Scan): number {
  const c = text[i]
  if (c === '\\') {
    const next = text[i + 1] ?? ''
    if (/[0-7xuU]/.test(next)) scan.trusted = false // numeric escapes end in a backslash: \x41\
    return i + 1
  }
  if (c === scan.quote) {
    if (text[i + 1] === scan.quote) return i + 1 // a doubled quote stands for itself
    scan.state = 'code'
  }
  return i
}

function stepCode (text: string, i: number, scan: Scan): number {
  const c = text[i]
  if (c === '%') {
    scan.state = 'line-comment'
  } else if (c === '/' && text[i + 1] === '*') {
    if (SYMBOL_CHARS.has(text[i - 1] ?? '')) scan.trusted = false
    scan.state = 'block-comment'
    return i + 1
  } else if (QUOTES.has(c)) {
    return quoteInCode(text, i, scan)
  }
  return i
}

/** A quote in code starts quoted text, unless it follows a number: `0'c` or the radix `16'FF`. */
function quoteInCode (text: string, i: number, scan: Scan): number {
  const c = text[i]
  const before = text[i - 1] ?? ''
  if (c === "'" && /[0-9]/.test(before)) {
    const isZero = before === '0' && !/[0-9A-Za-z_]/.test(text[i - 2] ?? '')
    const next = text[i + 1] ?? ''
    if (isZero && next !== '' && next !== '\\' && next !== "'") {
      return i + (next.codePointAt(0) as number > 0xffff ? 2 : 1) // 0'c: one character
    }
    scan.trusted = false
    return i
  }
  scan.state = 'quoted'
  scan.quote = c
  return i
}
