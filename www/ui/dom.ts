/** A few lines of DOM building, so the panels read as what they show. */

type Child = Node | string | null | undefined | false

/** `el('td', { class: 'kind', title: 'assert' }, 'text', otherNode)` */
export function el<K extends keyof HTMLElementTagNameMap> (tag: K, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value)
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child)
  return element
}

export function byId<T extends HTMLElement> (id: string): T {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`the page has no #${id}`)
  return element as T
}

/** `12D3KooWJWoa…NASuq`: enough of a peer id to tell peers apart; the whole id goes in a title. */
export function shortId (id: string): string {
  return id.length > 12 ? `…${id.slice(-6)}` : id
}

/** Runs `render` at most once every `ms` however often it is asked for. */
export function throttled (render: () => void, ms: number): () => void {
  let pending = false
  return () => {
    if (pending) return
    pending = true
    setTimeout(() => {
      pending = false
      render()
    }, ms)
  }
}
