/**
 * The worker's side of shared predicates (p2p_kb.pl): it takes the local changes that Prolog queued,
 * gives each new clause its id, and applies changes from the network in one Prolog call.
 *
 * Ids are 16 bytes from crypto.getRandomValues(), made here when a new clause is taken (after the
 * time slice that asserted it) and kept in Prolog as atoms of 32 hex digits, mapped to the clause
 * references both ways (p2p_kb:clause_id/2). A clause that is asserted and retracted within one
 * time slice still gets an id, and both changes are reported.
 */
import { TermConversionError } from './errors.ts'
import { PrologError } from './errors.ts'
import { inFrame, PL } from './swipl.ts'
import type { TermConverter } from './convert.ts'
import type { KbChange, KbOp, KbRefusal, PredicateIndicator, WorkerMessage } from './protocol.ts'
import type { Swipl } from './swipl.ts'
import type { Atom, Compound, Term } from '../wire/term.ts'

export interface KbHost {
  readonly pl: Swipl
  readonly convert: TermConverter
  /** Handles of p2p_kb's kb_take_changes/2, kb_bind_ids/1, kb_apply/2, kb_begin_restore/0, kb_declare/1, kb_end_restore/0. */
  readonly predicates: { take: number, bind: number, apply: number, begin: number, declare: number, end: number }
}

const CALL_FLAGS = PL.Q_NODEBUG | PL.Q_CATCH_EXCEPTION
const ID_BYTES = 16
/** crypto.getRandomValues() fills at most 65,536 bytes a call. */
const IDS_PER_DRAW = 4_096
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Posts the changes queued since the last call (if any) and binds the new clauses' ids. */
export function drainChanges (host: KbHost, post: (message: WorkerMessage) => void): void {
  const { pl, convert, predicates } = host
  inFrame(pl, () => {
    const args = pl._PL_new_term_refs(2)
    if (pl._PL_call_predicate(0, CALL_FLAGS, predicates.take, args) === 0) throw new Error('p2p_kb:kb_take_changes/2 failed')
    if (pl._PL_get_nil(args) !== 0) return
    const fresh = randomIds(Number(convert.get(args + 1)))
    const bound: Array<string | undefined> = fresh.map(bytes => toHex(bytes))
    const changes: KbChange[] = []
    const declared: PredicateIndicator[] = []
    const retracted = (id: Uint8Array): void => {
      const last = changes[changes.length - 1]
      if (last?.kind === 'retract') last.ids.push(id)
      else changes.push({ kind: 'retract', ids: [id] })
    }
    const list = pl._PL_new_term_ref()
    const head = pl._PL_new_term_ref()
    pl._PL_put_term(list, args)
    while (pl._PL_get_list(list, head, list) !== 0) {
      const change = convertChange(host, head, post)
      if (change === undefined) continue
      const { functor, args: [a, b, c] } = change
      if (functor === 'declared') {
        declared.push({ name: (a as Atom).atom, arity: Number(b) })
      } else if (functor === 'assert') {
        const n = Number(a)
        if (b === undefined) bound[n] = undefined // its clause did not convert: it stays local
        else changes.push({ kind: 'assert', id: fresh[n], clause: b, front: (c as Atom).atom === 'true' })
      } else if (typeof a === 'object' && 'atom' in a) {
        retracted(fromHex(a.atom))
      } else {
        const n = Number((a as Compound).args[0])
        if (bound[n] !== undefined) retracted(fresh[n])
      }
    }
    if (changes.length > 0 || declared.length > 0) post({ type: 'kb-changes', changes, declared })
    if (fresh.length > 0) {
      convert.put(args, bound.map(hex => ({ atom: hex ?? 'none' })))
      if (pl._PL_call_predicate(0, CALL_FLAGS, predicates.bind, args) === 0) throw new Error('p2p_kb:kb_bind_ids/1 failed')
    }
  })
}

/**
 * One queued change as a term; an assert whose clause does not convert (a blob in it, too deep)
 * comes back without its clause, after a warning on stderr.
 */
function convertChange (host: KbHost, ref: number, post: (message: WorkerMessage) => void): Compound | undefined {
  try {
    return host.convert.get(ref) as Compound
  } catch (err) {
    if (!(err instanceof TermConversionError)) throw err
    const n = inFrame(host.pl, () => {
      const arg = host.pl._PL_new_term_ref()
      host.pl._PL_get_arg(1, ref, arg)
      return host.convert.get(arg)
    })
    post({ type: 'output', text: `p2p: a clause of a shared predicate stays local: ${err.message}\n`, stream: 'stderr' })
    return { functor: 'assert', args: [n] }
  }
}

/** Applies remote ops in order; one bad op is refused and the others still apply. */
export function applyOps (host: KbHost, ops: readonly KbOp[]): KbRefusal[] {
  const { pl, convert, predicates } = host
  const refused: Array<KbRefusal & { index: number }> = []
  const indexOf = new Map<string, number>()
  inFrame(pl, () => {
    const args = pl._PL_new_term_refs(2)
    const item = pl._PL_new_term_ref()
    pl._PL_put_nil(args)
    for (let i = ops.length - 1; i >= 0; i--) {
      const op = ops[i]
      if (!(op.id instanceof Uint8Array) || op.id.length !== ID_BYTES) {
        refused.push({ id: op.id, reason: 'bad-id', index: i })
        continue
      }
      const id: Atom = { atom: toHex(op.id) }
      indexOf.set(id.atom, i)
      const term: Term = op.op === 'retract'
        ? { functor: 'retract', args: [id] }
        : { functor: 'assert', args: [id, op.clause, { atom: op.front ? 'true' : 'false' }] }
      try {
        convert.put(item, term)
      } catch (err) {
        if (!(err instanceof TermConversionError)) throw err
        refused.push({ id: op.id, reason: err.reason, index: i })
        continue
      }
      pl._PL_cons_list(args, item, args)
    }
    if (pl._PL_call_predicate(0, CALL_FLAGS, predicates.apply, args) === 0) {
      throw new PrologError('p2p_kb:kb_apply/2 failed', { atom: 'kb_apply_failed' })
    }
    for (const refusal of convert.get(args + 1) as Compound[]) {
      const [id, reason] = refusal.args as [Atom, Atom]
      refused.push({ id: fromHex(id.atom), reason: reason.atom as KbRefusal['reason'], index: indexOf.get(id.atom) ?? 0 })
    }
  })
  return refused.sort((a, b) => a.index - b.index).map(({ id, reason }) => ({ id, reason }))
}

/** Steps of a restore: `begin` before the replay, `end` after the host re-applied its clauses. */
export function restoreStep (host: KbHost, step: 'begin' | 'end'): void {
  if (host.pl._PL_call_predicate(0, CALL_FLAGS, host.predicates[step], 0) === 0) throw new Error(`p2p_kb: the ${step} of a restore failed`)
}

/** Declares the predicates shared (again). */
export function declare (host: KbHost, declared: readonly PredicateIndicator[]): void {
  const { pl, convert } = host
  inFrame(pl, () => {
    const arg = pl._PL_new_term_ref()
    convert.put(arg, declared.map(({ name, arity }) => ({ functor: '/', args: [{ atom: name }, BigInt(arity)] })))
    if (pl._PL_call_predicate(0, CALL_FLAGS, host.predicates.declare, arg) === 0) throw new Error('p2p_kb:kb_declare/1 failed')
  })
}

function randomIds (count: number): Uint8Array[] {
  const ids: Uint8Array[] = []
  for (let drawn = 0; drawn < count; drawn += IDS_PER_DRAW) {
    const n = Math.min(IDS_PER_DRAW, count - drawn)
    const bytes = crypto.getRandomValues(new Uint8Array(n * ID_BYTES))
    for (let i = 0; i < n; i++) ids.push(bytes.slice(i * ID_BYTES, (i + 1) * ID_BYTES))
  }
  return ids
}

function toHex (bytes: Uint8Array): string {
  let hex = ''
  for (let i = 0; i < bytes.length; i++) hex += HEX[bytes[i]]
  return hex
}

function fromHex (hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return bytes
}
