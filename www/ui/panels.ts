/**
 * The page's panels around the console, given the peer: the network status in the header, the
 * program editor, the shared predicates, the peers and the event log.
 */
import { showConnection } from './connection.ts'
import { byId } from './dom.ts'
import { createEditor } from './editor.ts'
import { createEventLog } from './event-log.ts'
import { showPeers } from './peers.ts'
import { showShared } from './shared.ts'
import type { PrologConsole } from '../console.ts'
import type { PeerView } from '../peer-view.ts'

export function attachPanels (view: PeerView, prolog: PrologConsole): void {
  const network = byId('network')
  view.onStatus(statuses => { showConnection(network, statuses) })
  const log = createEventLog(byId<HTMLTableSectionElement>('events'))
  view.onEvent(event => { log.add(event) })
  showPeers(view, byId<HTMLTableSectionElement>('peers'), byId('self'))
  showShared(view, byId('shared'), query => { prolog.ask(query) })
  createEditor({
    text: byId<HTMLTextAreaElement>('program'),
    share: byId<HTMLButtonElement>('share'),
    local: byId<HTMLButtonElement>('consult-local'),
    result: byId('program-result')
  }, view.engine, message => { prolog.print(`${message}\n`, 'error') })
}
