/**
 * The page: starts SWI-Prolog in its worker and hands it to the console.
 */
import { createConsole } from './console.ts'
import { createBrowserEngine } from './engine-host.ts'
import type { ConsoleState } from './console.ts'

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`the page has no #${id}`)
  return element as T
}

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
  const engine = await createBrowserEngine({
    onOutput: (text, stream) => { prolog.print(text, stream) },
    onRestart: (reason) => { prolog.print(`% SWI-Prolog was restarted: ${reason}\n`, 'note') }
  })
  prolog.print(`% SWI-Prolog started in ${Math.round(performance.now() - started)} ms\n\n`, 'note')
  prolog.attach(engine)
}

start().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err)
  showStatus('failed', 'SWI-Prolog did not start')
  prolog.print(`ERROR: SWI-Prolog did not start: ${message}\n`, 'error')
})
