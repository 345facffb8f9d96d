/**
 * The page's Prolog console in real headless Chromium: SWI-Prolog (swipl-wasm) in a Web Worker,
 * built with Parcel and served from srv/www-test/<pid> (test/support/www.ts). Screenshots of each state go to test-output/browser/.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { freePort, ROOT } from '../support/processes.ts'
import { serveStatic } from '../../node/static-server.ts'
import { buildWww, WWW_DIST } from '../support/www.ts'
import type { Browser } from '../support/browser.ts'
import type { StaticServer } from '../../node/static-server.ts'
import type { Page } from 'playwright-core'

const SHOTS = join(ROOT, 'test-output', 'browser')

let server: StaticServer
let browser: Browser

beforeAll(async () => {
  await buildWww()
  await mkdir(SHOTS, { recursive: true })
  server = await serveStatic(WWW_DIST, await freePort())
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/** A new tab with the console, once SWI-Prolog has started in its worker. */
async function openConsole (): Promise<Page> {
  browser.problems.splice(0) // each test answers for its own page
  const page = await browser.open(server.url)
  page.setDefaultTimeout(10_000)
  const fail = async (why: string): Promise<never> => {
    throw new Error(`the console did not become ready: ${why}\noutput:\n${await output(page)}\nproblems:\n${browser.problems.join('\n')}`)
  }
  await page.locator('#prompt[data-state="idle"], #status[data-state="failed"]').first().waitFor({ timeout: 20_000 })
    .catch(async (err: Error) => await fail(err.message))
  if (await page.locator('#status[data-state="failed"]').count() > 0) await fail('SWI-Prolog did not start')
  return page
}

async function output (page: Page): Promise<string> {
  return await page.locator('#output').textContent() ?? ''
}

async function ask (page: Page, query: string): Promise<void> {
  await page.locator('#query').fill(query)
  await page.locator('#query').press('Enter')
}

/** Waits until the console's output contains `text` and its prompt is in `state`. */
async function showing (page: Page, text: string, state: 'idle' | 'running' | 'waiting' = 'idle'): Promise<string> {
  try {
    await page.waitForFunction(([want, wanted]) =>
      document.getElementById('output')?.textContent?.includes(want) === true &&
      document.getElementById('prompt')?.dataset.state === wanted, [text, state] as const)
  } catch {
    const prompt = await page.locator('#prompt').getAttribute('data-state')
    throw new Error(`the console did not show ${JSON.stringify(text)} in state ${state}; state ${prompt}, output:\n${await output(page)}`)
  }
  return await output(page)
}

async function shot (page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `engine-${name}.png`) })
}

describe('the Prolog console in Chromium', () => {
  it('answers queries as the toplevel prints them, one answer at a time', async () => {
    const page = await openConsole()
    await shot(page, 'ready')

    await ask(page, 'X is 6*7.')
    expect(await showing(page, 'X = 42.\n')).toContain('X is 6*7.\nX = 42.\n')

    await ask(page, 'member(X,[a,b]).')
    await showing(page, 'X = a ', 'waiting')
    expect(await page.locator('#next').isEnabled()).toBe(true)
    await shot(page, 'waiting')
    await page.locator('#query').press(';')
    expect(await showing(page, 'X = a ;\nX = b.\n')).not.toContain('false.')

    // The Next button, then Enter accepts an answer and closes the query.
    await ask(page, 'between(1, 3, X).')
    await showing(page, 'X = 1 ', 'waiting')
    await page.locator('#next').click()
    await showing(page, 'X = 1 ;\nX = 2 ', 'waiting')
    await page.locator('#query').press('Enter')
    await showing(page, 'X = 1 ;\nX = 2 .\n') // SWI-Prolog too keeps the space when Enter accepts

    await ask(page, 'member(x, [a]).')
    await showing(page, 'member(x, [a]).\nfalse.\n')
    await shot(page, 'answers')
    await page.setViewportSize({ width: 360, height: 640 })
    await shot(page, 'answers-360px')
    expect(browser.problems).toStrictEqual([])
    await page.close()
  })

  it('stops a runaway goal with the Stop button within a second, then answers the next query', async () => {
    const page = await openConsole()
    await ask(page, 'repeat, fail.')
    await showing(page, 'repeat, fail.\n', 'running')
    await page.waitForTimeout(300) // let it run
    expect(await page.locator('#prompt').getAttribute('data-state')).toBe('running')
    await shot(page, 'running')

    const clicked = Date.now()
    await page.locator('#stop').click()
    await showing(page, '% Execution Aborted\n')
    expect(Date.now() - clicked).toBeLessThan(1000)
    await shot(page, 'stopped')

    await ask(page, 'true.')
    await showing(page, 'true.\ntrue.\n')

    // Ctrl+C in the prompt stops too.
    await ask(page, 'between(1, inf, _), fail.')
    await showing(page, 'between(1, inf, _), fail.\n', 'running')
    const pressed = Date.now()
    await page.locator('#query').press('Control+c')
    const text = await showing(page, 'between(1, inf, _), fail.\n% Execution Aborted\n')
    expect(text.split('% Execution Aborted')).toHaveLength(3)
    expect(Date.now() - pressed).toBeLessThan(1000)
    await ask(page, 'X = again.')
    await showing(page, 'X = again.\n')
    await shot(page, 'after-stop')
    expect(browser.problems).toStrictEqual([])
    await page.close()
  })

  it('prints Prolog errors as SWI-Prolog words them', async () => {
    const page = await openConsole()
    await ask(page, 'X is foo + 1.')
    expect(await showing(page, 'ERROR: ')).toMatch(/X is foo \+ 1\.\nERROR: .*Arithmetic: .*foo\/0/)
    await ask(page, 'atom_length(X, Y).')
    expect(await showing(page, 'Arguments are not sufficiently instantiated')).toMatch(/ERROR: .*atom_length\/2: Arguments are not sufficiently instantiated\n/)
    await ask(page, 'foo(.')
    expect(await showing(page, 'Syntax error')).toMatch(/foo\(\.\nERROR: Syntax error: /)
    await ask(page, 'format("hello~n"), X = 1.')
    expect(await showing(page, 'X = 1.\n')).toContain('hello\nX = 1.\n')
    await shot(page, 'errors')
    expect(browser.problems).toStrictEqual([])
    await page.close()
  })
})
