/**
 * The Docker deployment end to end: both compose files of a checkout that `sh bootstrap.sh` set
 * up, on a real Docker engine, seen from the host as a user sees them. Run it with
 * `npm run test:compose` (scripts/compose-test.sh), which builds the images, starts a private
 * dockerd in a private network namespace and runs this inside that namespace (so the node peer's
 * host networking, stock swipl, tcpdump and Chromium share one loopback, and nothing leaves it).
 *
 * The steps run in order and each prints how long it took; a summary of all comes at the end.
 * Screenshots and the page's console go to test-output/compose/.
 */
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { eventually, getJson, ROOT, start, startTs } from '../support/processes.ts'
import type { BrowserPeer } from '../../www/browser-peer.ts'
import type { Browser } from '../support/browser.ts'
import type { Proc } from '../support/processes.ts'
import type { Page } from 'playwright-core'

const run = promisify(execFile)
const DIR = process.env.COMPOSE_TEST_DIR ?? ''
const COMPOSE = (process.env.COMPOSE ?? 'docker-compose').split(' ')
const OUTPUT = join(ROOT, 'test-output', 'compose')
const PAGE_URL = 'http://localhost:8080/'
const SIGNALLER_STATUS = 'http://127.0.0.1:9998/healthz'
const NODE_STATUS = 'http://127.0.0.1:9997/healthz'

type File = 'signaller' | 'client'

declare global {
  interface Window {
    /** The page's signaller statuses as the test recorder saw them, newest last. */
    composeTestStatuses?: string[]
  }
}

const timings: Array<[string, number]> = []
const testStarted = Date.now()
let browser: Browser | undefined
let page: Page
const pageLog: string[] = []
let swipl: Proc
let capture: { tcpdump: Proc, decoder: Proc } | undefined
let monitor: Proc | undefined

function progress (text: string): void {
  process.stderr.write(`[compose e2e ${((Date.now() - testStarted) / 1000).toFixed(0).padStart(4)}s] ${text}\n`)
}

/** Runs one timed step, with a progress line before and after. */
async function step<T> (name: string, body: () => Promise<T>): Promise<T> {
  progress(`${name}…`)
  const started = Date.now()
  const result = await body()
  const ms = Date.now() - started
  timings.push([name, ms])
  progress(`${name}: ${(ms / 1000).toFixed(1)} s`)
  return result
}

async function compose (file: File, ...args: string[]): Promise<string> {
  const [command, ...first] = COMPOSE
  try {
    const { stdout } = await run(command, [...first, '-f', `docker-compose-${file}.yml`, ...args], { cwd: DIR, timeout: 240_000, maxBuffer: 16 << 20 })
    return stdout
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string, stderr?: string }
    throw new Error(`${COMPOSE.join(' ')} -f docker-compose-${file}.yml ${args.join(' ')} failed: ${(err as Error).message}\n${stdout ?? ''}${stderr ?? ''}`)
  }
}

async function docker (...args: string[]): Promise<string> {
  return (await run('docker', args, { timeout: 60_000 })).stdout.trim()
}

/** The files of an image (outside the system's own folders) that hold `text`; '' when none does. */
async function grepImage (image: string, text: string): Promise<string> {
  try {
    return (await run('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'grep', image, '-rlF', text, '/app', '/usr/local/bin'], { timeout: 120_000 })).stdout
  } catch (err) {
    // grep's exit code 1: no match; anything else is a failure to look.
    if ((err as { code?: unknown }).code === 1) return ''
    throw err
  }
}

/** Docker's health status of a service's container ('starting', 'healthy', 'unhealthy'), or why there is none. */
async function health (file: File, service: string): Promise<string> {
  const id = (await compose(file, 'ps', '-q', service)).trim()
  if (id === '') return 'no container'
  return await docker('inspect', '-f', '{{.State.Health.Status}}', id)
}

async function logsOf (file: File, service: string): Promise<string> {
  return await compose(file, 'logs', '--tail', '30', service).catch((err: Error) => err.message)
}

async function healthy (file: File, service: string, timeout = 180_000): Promise<void> {
  let last = ''
  await eventually(async () => (last = await health(file, service)) === 'healthy', { timeout, interval: 1_000 })
    .catch(async () => { throw new Error(`${service} not healthy within ${timeout} ms (last: ${last}):\n${await logsOf(file, service)}`) })
}

/** Runs a goal in the stock swipl member (test/support/udp_member.pl) and waits for it to finish. */
async function inSwipl (goal: string): Promise<void> {
  const from = swipl.lines.length
  swipl.write(`${goal}.\n`)
  await swipl.waitFor(/^done$/, { from, timeout: 60_000 })
}

/**
 * What a broadcast_request from stock swipl collects within 2 s, sorted. The node peer gathers
 * the network's answers for its bridge's request timeout (250 ms) only, so on a busy machine a
 * page's answer may miss one round: callers ask again until the answers are there.
 */
async function requestFromSwipl (request: string): Promise<string> {
  const from = swipl.lines.length
  swipl.write(`findall(X, broadcast_request(udp(s, ${request}, 2)), Xs), msort(Xs, S), format("answers ~q~n", [S]).\n`)
  const [, answers] = await swipl.waitFor(/^answers (.*)$/, { from, timeout: 60_000 })
  await swipl.waitFor(/^done$/, { from, timeout: 60_000 })
  return answers
}

async function untilAnswers (request: string, expected: string, timeout = 60_000): Promise<void> {
  let last = ''
  await eventually(async () => (last = await requestFromSwipl(request)) === expected, { timeout, interval: 500 })
    .catch(async () => { throw new Error(`broadcast_request(udp(s, ${request})) from swipl: ${last}, not ${expected}, within ${timeout} ms\nnode peer:\n${await logsOf('client', 'node-peer')}`) })
}

/** Types a query at the page's console and waits until the output shows `text` after it. */
async function ask (query: string, text: string): Promise<void> {
  await page.locator('#query').fill(query)
  await page.locator('#query').press('Enter')
  await eventually(async () => (await page.locator('#output').textContent() ?? '').includes(`${query}\n${text}`) &&
    await page.locator('#prompt').getAttribute('data-state') === 'idle', { timeout: 30_000, interval: 250 })
    .catch(async () => { throw new Error(`the console did not show ${JSON.stringify(text)} after ${query}:\n${await page.locator('#output').textContent()}`) })
}

async function lastStatus (): Promise<string> {
  return await page.evaluate(() => window.composeTestStatuses?.at(-1) ?? '')
}

async function shot (name: string): Promise<void> {
  await page.screenshot({ path: join(OUTPUT, `${name}.png`) }).catch(() => {})
}

beforeAll(async () => {
  if (DIR === '' || process.env.DOCKER_HOST === undefined || process.env.P2P_PROLOG_NETNS !== '1') {
    throw new Error('run this through `npm run test:compose` (scripts/compose-test.sh): it needs the images, a private dockerd and its network namespace')
  }
  await mkdir(OUTPUT, { recursive: true })
  progress(`checkout ${DIR}, ${COMPOSE.join(' ')} (${(await run(COMPOSE[0], [...COMPOSE.slice(1), 'version', '--short']).catch(() => ({ stdout: '?' }))).stdout.trim()}), docker ${await docker('version', '-f', '{{.Server.Version}}')}`)
  // Left over from an interrupted run: gone before anything starts.
  for (const file of ['client', 'signaller'] as const) await compose(file, 'down', '-v', '--timeout', '5').catch(() => '')
})

afterAll(async () => {
  await writeFile(join(OUTPUT, 'page.log'), pageLog.join('\n') + '\n').catch(() => {})
  await browser?.close()
  for (const proc of [swipl, capture?.tcpdump, capture?.decoder, monitor]) await proc?.stop()
  // scripts/compose-test.sh takes both files down too (with their volumes), pass or fail.
  progress('timings:')
  for (const [name, ms] of timings) progress(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${name}`)
})

describe('the Docker Compose deployment, from the host', () => {
  it('starts the signaller, and docker reports it healthy', async () => {
    await step('docker-compose-signaller.yml up, until healthy', async () => {
      await compose('signaller', 'up', '-d')
      await healthy('signaller', 'signaller')
    })
    const status = await getJson(SIGNALLER_STATUS)
    expect(status.healthy).toBe(true)
    const peers = JSON.parse(await readFile(join(DIR, '.peers.json'), 'utf8')) as { signallers: string[] }
    expect(peers.signallers[0]).toBe(`/dns4/localhost/tcp/9999/ws/p2p/${String(status.peerId)}`)
  })

  it('starts the node peer and the page server; the node peer reaches the signaller; the page holds no secret', async () => {
    await step('docker-compose-client.yml up, until healthy and connected', async () => {
      await compose('client', 'up', '-d')
      await Promise.all([healthy('client', 'node-peer'), healthy('client', 'www')])
      await eventually(async () => (await getJson(NODE_STATUS)).connectedPeers >= 1, { timeout: 60_000, interval: 500 })
    })
    const config = await (await fetch(`${PAGE_URL}p2p-config.json`)).text()
    const identity = JSON.parse(await readFile(join(DIR, '.identity.json'), 'utf8')) as { network: string, secret: string }
    expect(JSON.parse(config)).toMatchObject({ network: identity.network })
    await step('the secret is in no image and no file of the page', async () => {
      for (const image of ['p2p-prolog-app:latest', 'p2p-prolog-www:latest']) {
        expect(await grepImage(image, identity.secret), image).toBe('')
      }
      for (const file of await readdir(join(DIR, 'srv', 'www'), { recursive: true })) {
        const path = join(DIR, 'srv', 'www', file)
        if ((await stat(path)).isFile()) expect((await readFile(path)).includes(identity.secret), path).toBe(false)
      }
    })
  })

  it('serves a page on port 8080 that connects to the network and answers a query', async () => {
    await step('Chromium: the page from :8080 up, connected, answering', async () => {
      browser = await launchChromium()
      page = await browser.open(PAGE_URL, { log: pageLog })
      page.setDefaultTimeout(30_000)
      await page.waitForFunction(() => window.p2pPeer !== undefined && document.getElementById('prompt')?.dataset.state === 'idle', undefined, { timeout: 90_000 })
      await page.evaluate(() => {
        const statuses: string[] = []
        window.composeTestStatuses = statuses;
        (window.p2pPeer as BrowserPeer).onStatus(list => { statuses.push(list.map(s => `${s.state} ${s.address}`).join('; ')) })
      })
      await eventually(async () => await lastStatus() === 'up ws://localhost:9999', { timeout: 60_000, interval: 250 })
        .catch(async () => { throw new Error(`the page did not connect: ${await lastStatus()}\n${pageLog.slice(-20).join('\n')}`) })
      await ask('X is 6 * 7.', 'X = 42.')
    })
    await shot('connected')
  })

  it('delivers a datagram from stock swipl on the host\'s group to the page\'s event log, as tcpdump | decode and decode --live show it', async () => {
    await step('stock swipl, tcpdump | decode and decode --live started', async () => {
      swipl = start('swipl', 'swipl', ['test/support/udp_member.pl', '9999'])
      const tcpdump = start('tcpdump', 'tcpdump', ['-i', 'lo', '-U', '-w', '-', 'udp', 'port', '9999'])
      const decoder = startTs('decode', 'scripts/decode/main.ts', [])
      tcpdump.child.stdout?.pipe(decoder.child.stdin as NodeJS.WritableStream)
      capture = { tcpdump, decoder }
      monitor = startTs('decode --live', 'scripts/decode/main.ts', ['--live', '--identity', join(DIR, '.identity.json'), '--peers', join(DIR, '.peers.json')])
      await Promise.all([
        swipl.waitFor(/^ready$/, { timeout: 60_000 }),
        tcpdump.waitFor(/listening on lo/, { timeout: 30_000 }),
        monitor.waitFor(/listening to \/p2p-prolog\//, { timeout: 60_000 })
      ])
      // The node peer, the page and the monitor are subscribed at the hub.
      await eventually(async () => (await getJson(SIGNALLER_STATUS)).subscribers === 3, { timeout: 60_000, interval: 500 })
    })
    await step('swipl broadcast reaches the page, the capture and the monitor', async () => {
      await inSwipl('broadcast(udp(s, temperature(kitchen, 21.5)))')
      await eventually(async () => (await page.locator('#events').textContent() ?? '').includes('temperature(kitchen,21.5)'), { timeout: 30_000, interval: 250 })
        .catch(async () => { throw new Error(`not in the page's event log:\n${await page.locator('#events').textContent()}`) })
      await capture?.decoder.waitFor(/^\d\d:\d\d:\d\d\.\d{3} [\d.]+:\d+ > 239\.0\.0\.2:9999 udp_broadcast send\(temperature\(kitchen,21\.5\)\)$/, { timeout: 30_000 })
      await monitor?.waitFor(/ message from …\w+ at [\d:.]+ id \w+: temperature\(kitchen,21\.5\)$/, { timeout: 30_000 })
    })
    await shot('broadcast')
  })

  it('answers a broadcast_request from stock swipl with a listen/2 handler consulted in the page', async () => {
    await step('page listen/2 handler answers swipl broadcast_request', async () => {
      await page.evaluate(async () => {
        await (window.p2pPeer as BrowserPeer).engine.consult(':- listen(page_answer(X), member(X, [from_page, 42])).')
      })
      await untilAnswers('page_answer(X)', '[42,from_page]')
    })
  })

  it('keeps the node peer\'s shared knowledge across docker-compose down and up', async () => {
    await step('page asserts a shared clause; it reaches the node peer', async () => {
      await page.evaluate(async () => { await (window.p2pPeer as BrowserPeer).engine.consult(':- shared(likes/2).') })
      await ask('assertz(likes(alice, prolog)).', 'true.')
      // Answered by the page and by the node peer, once each.
      await untilAnswers('likes(alice, X)', '[prolog,prolog]')
    })
    await step('both compose files down (volumes kept)', async () => {
      await compose('client', 'down')
      await compose('signaller', 'down')
    })
    await step('client up again alone: the node peer answers from its volume', async () => {
      await compose('client', 'up', '-d')
      await healthy('client', 'node-peer')
      // No signaller: the page is out of reach, so the one answer is the node peer's own replica.
      await untilAnswers('likes(alice, X)', '[prolog]')
    })
    await step('signaller up again: the page reconnects', async () => {
      await compose('signaller', 'up', '-d')
      await healthy('signaller', 'signaller')
      await eventually(async () => await lastStatus() === 'up ws://localhost:9999', { timeout: 90_000, interval: 500 })
      await untilAnswers('likes(alice, X)', '[prolog,prolog]')
    })
    await shot('after-restart')
    expect(browser?.problems.filter(p => p.startsWith('page error')) ?? []).toEqual([])
  })
})
