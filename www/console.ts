/**
 * A Prolog console that behaves like SWI-Prolog's toplevel: a `?-` prompt, answers one at a time
 * (`;` for the next, Enter to accept), `false.` when there is none, errors as SWI-Prolog words
 * them, a Stop button and Ctrl+C to end a running goal, and a history on the arrow keys.
 *
 * The user's own queries run as the toplevel runs them: in module user, without the sandbox and
 * without limits; Stop is how a runaway goal ends.
 */
import type { Answer, Engine } from '../core/engine/engine.ts'

export interface ConsoleElements {
  output: HTMLElement
  form: HTMLFormElement
  input: HTMLInputElement
  next: HTMLButtonElement
  stop: HTMLButtonElement
}

/** `running`: computing an answer; `waiting`: an answer is shown and more may follow. */
export type ConsoleState = 'starting' | 'idle' | 'running' | 'waiting'

export type LineKind = 'query' | 'answer' | 'false' | 'error' | 'stdout' | 'stderr' | 'note'

export interface PrologConsole {
  /** Makes the console usable with this engine. */
  attach (engine: Engine): void
  /** Appends text to the output; `text` may hold several lines. */
  print (text: string, kind: LineKind): void
  /** Puts a query at the prompt, ready to run or edit (when no query is running). */
  ask (query: string): void
  readonly state: ConsoleState
}

interface Running {
  answers: AsyncGenerator<Answer>
  controller: AbortController
}

const HISTORY_SIZE = 200

const PLACEHOLDERS: Record<ConsoleState, string> = {
  starting: 'starting SWI-Prolog…',
  idle: 'a query, e.g. member(X, [a, b]).',
  running: 'running… Stop or Ctrl+C ends it',
  waiting: '; for the next answer, Enter to accept this one'
}

export function createConsole (el: ConsoleElements, onState: (state: ConsoleState) => void = () => {}): PrologConsole {
  let engine: Engine | undefined
  let state: ConsoleState = 'starting'
  let running: Running | undefined
  const history: string[] = []
  let recalled = 0 // history.length when not browsing
  let draft = ''

  const setState = (next: ConsoleState): void => {
    state = next
    el.form.dataset.state = next
    el.input.disabled = next === 'starting'
    el.input.placeholder = PLACEHOLDERS[next]
    el.next.disabled = next !== 'waiting'
    el.stop.disabled = next !== 'running' && next !== 'waiting'
    onState(next)
  }

  const print = (text: string, kind: LineKind): void => {
    const atEnd = el.output.scrollTop + el.output.clientHeight >= el.output.scrollHeight - 4
    const span = document.createElement('span')
    span.className = kind
    span.textContent = text
    el.output.append(span)
    if (atEnd) el.output.scrollTop = el.output.scrollHeight
  }

  const run = async (text: string): Promise<void> => {
    if (engine === undefined) return
    remember(text)
    print(`${text}\n`, 'query')
    const controller = new AbortController()
    running = { answers: engine.queryText(text, { sandbox: false, signal: controller.signal }), controller }
    await step()
  }

  /** Asks for the next answer and shows it. */
  const step = async (): Promise<void> => {
    if (running === undefined) return
    const { answers, controller } = running
    setState('running')
    let result: IteratorResult<Answer>
    try {
      result = await answers.next()
    } catch (err) {
      if (controller.signal.aborted) print('% Execution Aborted\n\n', 'note')
      else printError(err)
      return finish()
    }
    if (result.done === true) {
      print('false.\n\n', 'false')
      return finish()
    }
    const answer = result.value
    switch (answer.status) {
      case 'failure':
        print('false.\n\n', 'false')
        return finish()
      case 'error':
        printError(answer.error)
        return finish()
      case 'success':
        print(answer.text ?? 'true', 'answer')
        if (answer.last) {
          print('.\n\n', 'answer')
          return finish()
        }
        print(' ', 'answer')
        setState('waiting')
        el.input.focus()
    }
  }

  /** Ends the query at an answer, as Enter does in the toplevel. */
  const accept = async (): Promise<void> => {
    if (running === undefined) return
    print('.\n\n', 'answer')
    const { answers } = running
    finish()
    // Closing ends the query in the worker; a worker that died meanwhile has nothing to close.
    await answers.return(undefined).catch(() => {})
  }

  const next = async (): Promise<void> => {
    print(';\n', 'answer')
    await step()
  }

  const stop = (): void => {
    if (state === 'running') running?.controller.abort()
    else if (state === 'waiting') void accept()
  }

  const finish = (): void => {
    running = undefined
    setState('idle')
    el.input.focus()
  }

  const printError = (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err)
    print(message.replace(/\s+$/, '').split('\n').map(line => `ERROR: ${line}\n`).join('') + '\n', 'error')
  }

  const remember = (text: string): void => {
    if (history[history.length - 1] !== text) history.push(text)
    if (history.length > HISTORY_SIZE) history.shift()
    recalled = history.length
    draft = ''
  }

  const recall = (delta: number): void => {
    const to = Math.min(Math.max(recalled + delta, 0), history.length)
    if (to === recalled) return
    if (recalled === history.length) draft = el.input.value
    recalled = to
    el.input.value = to === history.length ? draft : history[to]
    el.input.setSelectionRange(el.input.value.length, el.input.value.length)
  }

  el.form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (state === 'waiting') return void accept()
    const text = el.input.value.trim()
    if (state !== 'idle' || text === '') return
    el.input.value = ''
    void run(text)
  })

  el.input.addEventListener('keydown', (event) => {
    const ctrlC = event.ctrlKey && event.key.toLowerCase() === 'c' && el.input.selectionStart === el.input.selectionEnd
    if (ctrlC && (state === 'running' || state === 'waiting')) {
      event.preventDefault()
      stop()
    } else if (state === 'waiting' && (event.key === ';' || event.key === ' ' || event.key === 'n')) {
      event.preventDefault()
      void next()
    } else if (state === 'waiting' && event.key === '.') {
      event.preventDefault()
      void accept()
    } else if (state === 'idle' && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
      event.preventDefault()
      recall(event.key === 'ArrowUp' ? -1 : 1)
    }
  })

  el.next.addEventListener('click', () => { if (state === 'waiting') void next() })
  el.stop.addEventListener('click', stop)

  setState('starting')
  return {
    attach (e) {
      engine = e
      setState('idle')
      el.input.focus()
    },
    print,
    ask (query) {
      if (state !== 'idle') return
      el.input.value = query
      el.input.focus()
    },
    get state () { return state }
  }
}
