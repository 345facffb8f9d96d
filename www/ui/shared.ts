/**
 * The shared predicates with their clause counts. Choosing one puts a query for it at the prompt.
 */
import { el, throttled } from './dom.ts'
import { termText } from './term-text.ts'
import type { PeerView, SharedPredicate } from '../peer-view.ts'

const RENDER_MS = 250

export function showShared (view: PeerView, list: HTMLElement, ask: (query: string) => void): void {
  // Counting walks every live clause: a few times a second is enough for a person.
  const render = throttled(() => {
    const predicates = view.shared()
    list.replaceChildren(...(predicates.length === 0 ? [el('li', { class: 'empty' }, 'none yet: consult a program with :- shared(likes/2).')] : predicates.map(p => item(p, ask))))
  }, RENDER_MS)
  view.onKnowledge(render)
  render()
}

function item (predicate: SharedPredicate, ask: (query: string) => void): HTMLLIElement {
  const { name, arity, clauses } = predicate
  const button = el('button', { type: 'button', class: 'link', title: `Query ${name}/${arity}` }, `${name}/${arity}`)
  button.addEventListener('click', () => { ask(headQuery(name, arity)) })
  return el('li', { 'data-predicate': `${name}/${arity}` }, button, el('span', { class: 'count' }, `${clauses} clause${clauses === 1 ? '' : 's'}`))
}

/** `likes(A, B)`: a query for every clause of the predicate. */
function headQuery (name: string, arity: number): string {
  const quoted = termText({ atom: name })
  if (arity === 0) return quoted
  const vars = Array.from({ length: arity }, (_, i) => i < 26 ? String.fromCharCode(65 + i) : `A${i}`)
  return `${quoted}(${vars.join(', ')})`
}
