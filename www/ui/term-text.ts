/**
 * A term as Prolog text, for the panels (the console asks the engine, which prints exactly as
 * SWI-Prolog does). Close to `writeq/1`: atoms quoted where they must be, strings in double
 * quotes, lists in brackets, the standard infix operators written infix with brackets only where
 * their priorities need them, variables as `_0`, `_1`. What it writes reads back as the same term.
 */
import type { Term } from '../../core/wire/term.ts'

type OperatorType = 'xfx' | 'xfy' | 'yfx'

/** SWI-Prolog's standard infix operators: priority and type. */
const INFIX = new Map<string, [number, OperatorType]>([
  ...[':-', '-->'].map(op => [op, [1200, 'xfx']] as const),
  [';', [1100, 'xfy']], ['|', [1100, 'xfy']],
  ['->', [1050, 'xfy']], ['*->', [1050, 'xfy']],
  [',', [1000, 'xfy']],
  ...['=', '\\=', '==', '\\==', '@<', '@>', '@=<', '@>=', '=..', 'is', '=:=', '=\\=', '<', '>', '=<', '>='].map(op => [op, [700, 'xfx']] as const),
  [':', [200, 'xfy']],
  ...['+', '-', '/\\', '\\/', 'xor'].map(op => [op, [500, 'yfx']] as const),
  ...['*', '/', '//', 'mod', 'rem', '<<', '>>', 'div', 'rdiv'].map(op => [op, [400, 'yfx']] as const),
  ['**', [200, 'xfx']], ['^', [200, 'xfy']]
] as Array<[string, [number, OperatorType]]>)
/** Written without spaces around them, as writeq does. */
const TIGHT = new Set([',', ':', '^', '**'])
/** Arguments and list elements: below the comma. */
const ARGUMENT = 999
const SYMBOL_ATOM = /^[#$&*+\-./:<=>?@^~\\]+$/
const LETTER_ATOM = /^[a-z][a-zA-Z0-9_]*$/

/** At most `max` characters: a long term ends in `…`. */
export function termText (term: Term, max = Infinity): string {
  const text = write(term, 1200)
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text
}

function write (t: Term, priority: number): string {
  if (typeof t === 'string') return quote(t, '"')
  if (typeof t === 'bigint') return t.toString()
  if (typeof t === 'number') return floatText(t)
  if (Array.isArray(t)) return `[${t.map(e => write(e, ARGUMENT)).join(',')}]`
  const term = t as Exclude<Term, string | bigint | number | readonly Term[]>
  if ('atom' in term) return priority < 1200 && isOperator(term.atom) ? `(${atomText(term.atom)})` : atomText(term.atom)
  if ('var' in term) return `_${term.var}`
  if ('numerator' in term) return `${term.numerator}r${term.denominator}`
  if ('items' in term) return `[${term.items.map(e => write(e, ARGUMENT)).join(',')}|${write(term.tail, ARGUMENT)}]`
  const { functor, args } = term
  if (functor === '{}' && args.length === 1) return `{${write(args[0], 1200)}}`
  const operator = args.length === 2 ? INFIX.get(functor) : undefined
  if (operator === undefined) return `${atomText(functor)}(${args.map(a => write(a, ARGUMENT)).join(',')})`
  const [own, type] = operator
  const left = write(args[0], type === 'yfx' ? own : own - 1)
  const right = write(args[1], type === 'xfy' ? own : own - 1)
  const text = `${leftOperand(args[0], left)}${TIGHT.has(functor) ? functor : ` ${functor} `}${right}`
  return own > priority ? `(${text})` : text
}

/** A negative number before an infix operator reads as a prefix minus: bracket it. */
function leftOperand (t: Term, text: string): string {
  return (typeof t === 'bigint' && t < 0n) || (typeof t === 'number' && (t < 0 || Object.is(t, -0))) ? `(${text})` : text
}

function isOperator (name: string): boolean {
  return INFIX.has(name) || name === '\\+' || name === '?-'
}

function atomText (name: string): string {
  const plain = LETTER_ATOM.test(name) || name === '!' || name === ';' || name === '{}' ||
    (SYMBOL_ATOM.test(name) && name !== '.' && !name.includes('/*'))
  return plain ? name : quote(name, "'")
}

function floatText (n: number): string {
  if (Number.isNaN(n)) return '1.5NaN'
  if (!Number.isFinite(n)) return n > 0 ? '1.0Inf' : '-1.0Inf'
  if (Object.is(n, -0)) return '-0.0'
  const [mantissa, exponent] = String(n).split('e')
  const digits = mantissa.includes('.') ? mantissa : `${mantissa}.0`
  return exponent === undefined ? digits : `${digits}e${exponent.replace('+', '')}`
}

function quote (text: string, mark: '"' | "'"): string {
  let out = mark
  for (const ch of text) {
    if (ch === mark || ch === '\\') out += `\\${ch}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\t') out += '\\t'
    else if (ch < ' ' || ch === '\x7f') out += `\\x${ch.charCodeAt(0).toString(16)}\\`
    else out += ch
  }
  return out + mark
}
