/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core, with a
 * fresh profile each launch and no network traffic of its own (no updates, sync or QUIC probes).
 * Pages' console errors and uncaught exceptions are collected, so that a test can show them.
 *
 * WebRTC between pages on loopback (inside the tests' network namespace only `lo` is up): headless
 * Chromium gathers no ICE candidates on loopback unless it runs with
 * --allow-loopback-in-peer-connection and the page has microphone permission (granted here, with
 * fake devices so that nothing asks or records).
 */
import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox', // tests run as root in CI
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream'
]

export interface Browser {
  context: BrowserContext
  /**
   * A new tab at `url`; its console errors and page errors go to `problems` (and, with `log`,
   * every console message to it). `beforeGoto` runs on the blank tab first (e.g. to route it).
   */
  open: (url: string, options?: { beforeGoto?: (page: Page) => Promise<void>, log?: string[] }) => Promise<Page>
  /** What pages reported: console errors and uncaught exceptions, oldest first. */
  problems: string[]
  close: () => Promise<void>
}

export async function launchChromium (): Promise<Browser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install -y chromium), or CHROMIUM_PATH set to one`)
  })
  const profile = await mkdtemp(join(tmpdir(), 'p2p-prolog-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1000, height: 640 },
    permissions: ['microphone']
  })
  const problems: string[] = []
  return {
    context,
    problems,
    open: async (url, options = {}) => {
      const page = await context.newPage()
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`)
        options.log?.push(`${new Date().toISOString().slice(11, 23)} ${message.type()}: ${message.text()}`)
      })
      page.on('pageerror', (err) => {
        problems.push(`page error: ${err.message}`)
        options.log?.push(`${new Date().toISOString().slice(11, 23)} page error: ${err.message}`)
      })
      await options.beforeGoto?.(page)
      await page.goto(url)
      return page
    },
    close: async () => {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    }
  }
}
