/**
 * The peers panel: who this page is linked to, over which transports, and the round trip of the
 * last ping. Refreshed every REFRESH_MS.
 */
import { el, shortId } from './dom.ts'
import type { PeerLink, PeerView } from '../peer-view.ts'

const REFRESH_MS = 2_000

export function showPeers (view: PeerView, body: HTMLTableSectionElement, self: HTMLElement): void {
  self.textContent = shortId(view.id)
  self.title = view.id
  const refresh = async (): Promise<void> => {
    const links = await view.links().catch(() => [])
    body.replaceChildren(...(links.length === 0 ? [empty()] : links.map(row)))
  }
  void refresh()
  setInterval(() => { void refresh() }, REFRESH_MS)
}

function row (link: PeerLink): HTMLTableRowElement {
  return el('tr', { 'data-peer': link.id },
    el('td', { class: 'origin', title: link.id }, shortId(link.id)),
    el('td', {}, link.role),
    el('td', {}, ...link.transports.map(t => el('span', { class: `transport transport-${t}` }, t))),
    el('td', { class: 'latency' }, link.rttMs === undefined ? '–' : `${Math.round(link.rttMs)} ms`)
  )
}

function empty (): HTMLTableRowElement {
  return el('tr', {}, el('td', { colspan: '4', class: 'empty' }, 'no peer yet'))
}
