/**
 * The live event log: every event this page sent or received, newest first: when, what kind,
 * from whom, the term, and how long it took to arrive. Keeps the last MAX_ROWS.
 *
 * Rows are drawn every DRAW_MS, at most ROWS_PER_DRAW of the newest events that came meanwhile,
 * with one row that counts the others: a person reads a few events a second, and at thousands a
 * second a row each would take the page's main thread from the network.
 */
import { el, shortId, throttled } from './dom.ts'
import { termText } from './term-text.ts'
import type { LoggedEvent } from '../peer-view.ts'

const MAX_ROWS = 300
const DRAW_MS = 100
const ROWS_PER_DRAW = 30
const TERM_CHARS = 160
const TITLE_CHARS = 2_000

export interface EventLog {
  add (event: LoggedEvent): void
}

export function createEventLog (body: HTMLTableSectionElement): EventLog {
  let queued: LoggedEvent[] = []
  let skipped = 0
  const draw = throttled(() => {
    const newest = queued.reverse()
    queued = []
    body.prepend(...newest.map(row), ...(skipped > 0 ? [skippedRow(skipped)] : []))
    skipped = 0
    while (body.rows.length > MAX_ROWS) body.deleteRow(-1)
  }, DRAW_MS)
  return {
    add (event) {
      queued.push(event)
      if (queued.length > ROWS_PER_DRAW) {
        skipped += queued.length - ROWS_PER_DRAW
        queued = queued.slice(-ROWS_PER_DRAW)
      }
      draw()
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
    el('td', { class: 'term', title: text }, text.length > TERM_CHARS ? `${text.slice(0, TERM_CHARS - 1)}…` : text),
    el('td', { class: 'latency' }, event.own ? '' : `${Math.max(0, Math.round(event.latencyMs))} ms`)
  )
}

function skippedRow (count: number): HTMLTableRowElement {
  return el('tr', { class: 'skipped' }, el('td', { colspan: '5' }, `… and ${plural(count, 'earlier event')} in that tenth of a second, not shown`))
}

function describe (event: LoggedEvent): string {
  if (event.term !== undefined) return termText(event.term, TITLE_CHARS)
  if (event.caughtUp !== undefined) return `caught up: ${plural(event.caughtUp.asserts, 'assert')}, ${plural(event.caughtUp.retracts, 'retract')}`
  if (event.count !== undefined) return plural(event.count, 'clause')
  return ''
}

function plural (n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}
