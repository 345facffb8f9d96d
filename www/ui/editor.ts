/**
 * The program editor. "Share" consults the program with every predicate it defines declared
 * shared, so its clauses reach every peer and later changes of them too; "Consult locally" loads
 * it into this page only (predicates that are already shared stay shared). Consulting again
 * replaces the program's earlier version, as SWI-Prolog's make/0 does: for a shared program, the
 * clauses the new text lacks are retracted on every peer.
 */
import { compound, isCompound, variable } from '../../core/wire/term.ts'
import { termText } from './term-text.ts'
import type { Engine } from '../../core/engine/engine.ts'
import type { Term } from '../../core/wire/term.ts'

export interface EditorElements {
  text: HTMLTextAreaElement
  share: HTMLButtonElement
  local: HTMLButtonElement
  result: HTMLElement
}

/** Source names: consulting one again replaces what it loaded before. */
const SHARED_SOURCE = '/p2p/page/shared.pl'
const LOCAL_SOURCE = '/p2p/page/local.pl'

export function createEditor (el: EditorElements, engine: Engine, report: (text: string) => void): void {
  const run = async (button: HTMLButtonElement, load: () => Promise<string>): Promise<void> => {
    el.share.disabled = true
    el.local.disabled = true
    el.result.dataset.state = 'busy'
    el.result.textContent = 'consulting…'
    try {
      el.result.textContent = await load()
      el.result.dataset.state = 'ready'
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      el.result.textContent = 'the program has errors: see the console'
      el.result.dataset.state = 'failed'
      report(message)
    } finally {
      el.share.disabled = false
      el.local.disabled = false
      button.focus()
    }
  }
  el.share.addEventListener('click', () => {
    void run(el.share, async () => {
      const predicates = await definedPredicates(engine, el.text.value)
      const declaration = predicates.length === 0 ? '' : `:- shared(${termText(predicates)}). `
      // On the program's first line, so that SWI-Prolog's messages keep their line numbers.
      await engine.consult(declaration + el.text.value, { source: SHARED_SOURCE })
      return predicates.length === 0 ? 'consulted; it defines no predicate to share' : `shared ${predicates.map(p => termText(p)).join(', ')}`
    })
  })
  el.local.addEventListener('click', () => {
    void run(el.local, async () => {
      await engine.consult(el.text.value, { source: LOCAL_SOURCE })
      return 'consulted into this page only'
    })
  })
}

/** Name/Arity of each predicate the program has clauses for (p2p_kb:program_predicates/2). */
async function definedPredicates (engine: Engine, text: string): Promise<Term[]> {
  const goal = compound(':', { atom: 'p2p_kb' }, compound('program_predicates', text, variable(0)))
  for await (const answer of engine.query(goal, { sandbox: false })) {
    if (answer.status === 'error') throw answer.error
    if (answer.status === 'success') return (answer.bindings['0'] as Term[]).filter(pi => isCompound(pi, '/', 2))
  }
  return []
}
