/**
 * The live event log: every event this page sent or received, newest first: when, what kind,
 * from whom, the term, and how long it took to arrive. Keeps the last MAX_ROWS.
 */
import { el, shortId } from './dom.ts'
import { termText } from './term-text.ts'
import type { LoggedEvent } from '../peer-view.ts'

const MAX_ROWS = 300
const TERM_CHARS = 160

export interface EventLog {
  add (event: LoggedEvent): void
}

export function createEventLog (body: HTMLTableSectionElement): EventLog {
  return {
    add (event) {
      body.prepend(row(event))
      while (body.rows.length > MAX_ROWS) body.deleteRow(-1)
    }
  }
}

function row (event: LoggedEvent): HTMLTableRowElement {
  const text = describe(event)
  const time = new Date(event.at).toISOString().slice(11, 23)
  const origins = event.caughtUp?.origins ?? 1
  return el('tr', { 'data-kind': event.kind, ...(event.own ? { 'data-own': '' } : {}) },
    el('td', { class: 'time' }, time),
    el('td', {}, el('span', { class: `kind kind-${event.kind}` }, event.kind)),
    el('td', { class: 'origin', title: event.origin }, event.own ? 'this page' : origins > 1 ? `${origins} peers` : shortId(event.origin)),
    el('td', { class: 'term', title: event.term === undefined ? text : termText(event.term, 2_000) }, text.length > TERM_CHARS ? `${text.slice(0, TERM_CHARS - 1)}…` : text),
    el('td', { class: 'latency' }, event.own ? '' : `${Math.max(0, Math.round(event.latencyMs))} ms`)
  )
}

function describe (event: LoggedEvent): string {
  if (event.term !== undefined) return termText(event.term)
  if (event.caughtUp !== undefined) return `caught up: ${plural(event.caughtUp.asserts, 'assert')}, ${plural(event.caughtUp.retracts, 'retract')}`
  if (event.count !== undefined) return plural(event.count, 'clause')
  return ''
}

function plural (n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
