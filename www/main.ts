/**
 * The page: starts the peer (SWI-Prolog in its worker, libp2p, the replica on IndexedDB), hands
 * its engine to the console and the rest to the panels.
 */
import { startPeer } from './browser-peer.ts'
import { createConsole } from './console.ts'
import { byId } from './ui/dom.ts'
import { attachPanels } from './ui/panels.ts'
import type { ConsoleState } from './console.ts'

const status = byId<HTMLElement>('status')
const showStatus = (state: string, text: string): void => {
  status.dataset.state = state
  status.textContent = text
}
const onState = (state: ConsoleState): void => {
  if (state === 'running') showStatus('busy', 'running…')
  else if (state === 'waiting') showStatus('busy', 'more answers?')
  else if (state === 'idle') showStatus('ready', 'SWI-Prolog ready')
}

const prolog = createConsole({
  output: byId('output'),
  form: byId<HTMLFormElement>('prompt'),
  input: byId<HTMLInputElement>('query'),
  next: byId<HTMLButtonElement>('next'),
  stop: byId<HTMLButtonElement>('stop')
}, onState)

async function start (): Promise<void> {
  const started = performance.now()
  const peer = await startPeer((text, stream) => { prolog.print(text, stream) }, {
    onRestart: (reason) => { prolog.print(`% SWI-Prolog was restarted: ${reason}\n`, 'note') }
  })
  prolog.print(`% SWI-Prolog started in ${Math.round(performance.now() - started)} ms; the shared knowledge is loaded\n\n`, 'note')
  prolog.attach(peer.engine)
  attachPanels(peer, prolog)
}

start().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err)
  showStatus('failed', 'SWI-Prolog did not start')
  prolog.print(`ERROR: SWI-Prolog did not start: ${message}\n`, 'error')
})
