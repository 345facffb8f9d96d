/**
 * Browser peers on a real network, in headless Chromium: a signaller and a node peer as real
 * processes, a stock swipl on the node peer's UDP group, and two pages of the built app (two tabs
 * of one profile: each tab claims a slot of its own, www/key-store.ts). Screenshots of each state
 * go to test-output/browser/network-*.png, each page's console to network-A.log and network-B.log.
 * What the pages saw (statuses, links, events, console) is printed when an assertion fails.
 *
 * The assertions read `window.p2pPeer` (www/browser-peer.ts) and the console DOM.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { eventually, freePort, getJson, makeDeployment, ROOT, start, startTs } from '../support/processes.ts'
import { serveStatic } from '../../node/static-server.ts'
import { buildWww, WWW_DIST } from '../support/www.ts'
import type { BrowserPeer } from '../../www/browser-peer.ts'
import type { Browser } from '../support/browser.ts'
import type { Proc } from '../support/processes.ts'
import type { StaticServer } from '../../node/static-server.ts'
import type { Page, WebSocketRoute } from 'playwright-core'

const SHOTS = join(ROOT, 'test-output', 'browser')

declare global {
  interface Window {
    /** What a test recorder saw of onEvent and onStatus, as JSON-safe records. */
    networkTestRecord?: { events: SeenEvent[], statuses: string[] }
  }
}

interface SeenEvent { kind: string, origin: string, own: boolean, latencyMs: number, term: string, count?: number }

interface Tab {
  name: string
  page: Page
  id: string
  /** The page's console messages, oldest first. */
  log: string[]
  /** When true, this tab's WebSockets are refused (the signaller is out of its reach). */
  cutOff: boolean
}

let deployment: Awaited<ReturnType<typeof makeDeployment>>
let signallerPort: number
let signallerHttp: number
let signaller: Proc
let nodePeer: Proc
let swipl: Proc
let server: StaticServer
let browser: Browser
let a: Tab
let b: Tab

function startSignaller (): Proc {
  return startTs('signaller', 'signaller/main.ts', [
    '--identity', deployment.identity, '--data-dir', `${deployment.dir}/signaller`,
    '--host', '127.0.0.1', '--port', String(signallerPort), '--http-port', String(signallerHttp)
  ])
}

/** With TEST_VERBOSE=1, how long each step took. */
function timing (what: string, since: number): void {
  if (process.env.TEST_VERBOSE === '1') process.stderr.write(`[network test] ${what}: ${Date.now() - since} ms\n`)
}

beforeAll(async () => {
  const started = Date.now()
  const building = buildWww()
  await mkdir(SHOTS, { recursive: true })
  signallerPort = await freePort()
  signallerHttp = await freePort()
  const udpPort = await freePort()
  const nodeHttp = await freePort()
  deployment = await makeDeployment(signallerPort)
  signaller = startSignaller()
  await signaller.waitFor(/listening on/, { timeout: 60_000 })
  nodePeer = startTs('node-peer', 'node-peer/main.ts', [
    '--identity', deployment.identity, '--peers', deployment.peers, '--name', 'n',
    '--port', String(udpPort), '--http-port', String(nodeHttp), '--data-dir', `${deployment.dir}/n`
  ])
  swipl = start('swipl', 'swipl', ['test/support/udp_member.pl', String(udpPort)])
  // As `npm run identity` writes it for a signaller on this machine.
  const config = { network: 'test', signallers: [`/dns4/localhost/tcp/${signallerPort}/ws/p2p/${deployment.signallerId}`] }
  await building
  timing('built', started)
  server = await serveStatic(WWW_DIST, await freePort(), { files: { '/p2p-config.json': JSON.stringify(config) } })
  browser = await launchChromium()
  await Promise.all([nodePeer.waitFor(/bridging udp/, { timeout: 60_000 }), swipl.waitFor(/^ready$/, { timeout: 60_000 })])
  timing('processes up', started)
  a = await openTab('A')
  b = await openTab('B')
  timing('tabs open', started)
}, 120_000)

afterAll(async () => {
  for (const tab of [a, b]) if (tab !== undefined) await writeFile(join(SHOTS, `network-${tab.name}.log`), tab.log.join('\n') + '\n')
  await browser?.close()
  await server?.close()
  await swipl?.stop()
  await nodePeer?.stop()
  await signaller?.stop()
})

/**
 * A tab on the app, once its peer and console are up, with a recorder of its events and statuses.
 * With `reuse`, that tab loads the app again: `reload` as the browser's reload button does.
 */
async function openTab (name: string, reuse?: Tab, how: 'goto' | 'reload' = 'goto'): Promise<Tab> {
  const tab: Tab = reuse ?? { name, page: undefined as unknown as Page, id: '', log: [], cutOff: false }
  const route = async (page: Page): Promise<void> => {
    // P2P_DEBUG=libp2p:webrtc* (say) turns on libp2p's own logs in the pages (into network-*.log).
    if (process.env.P2P_DEBUG !== undefined) await page.addInitScript((namespaces) => { try { localStorage.setItem('debug', namespaces) } catch {} }, process.env.P2P_DEBUG)
    await page.routeWebSocket(() => true, (ws: WebSocketRoute) => {
      if (tab.cutOff) void ws.close({ code: 1011, reason: 'cut off by the test' })
      else ws.connectToServer()
    })
  }
  if (reuse === undefined) {
    tab.page = await browser.open(server.url, { beforeGoto: route, log: tab.log })
  } else if (how === 'reload') {
    await tab.page.reload()
  } else {
    await tab.page.goto(server.url)
  }
  tab.page.setDefaultTimeout(20_000)
  await tab.page.waitForFunction(() => window.p2pPeer !== undefined && document.getElementById('prompt')?.dataset.state === 'idle', undefined, { timeout: 30_000 })
    .catch(async (err: Error) => { throw new Error(`tab ${name} did not start: ${err.message}\n${await seen(tab)}`) })
  await tab.page.evaluate(() => {
    const peer = window.p2pPeer as BrowserPeer
    const record: NonNullable<Window['networkTestRecord']> = { events: [], statuses: [] }
    window.networkTestRecord = record
    const text = (term: unknown): string => JSON.stringify(term, (_key, value: unknown) => typeof value === 'bigint' ? `${value}n` : value)
    peer.onEvent(e => { record.events.push({ kind: e.kind, origin: e.origin, own: e.own, latencyMs: e.latencyMs, term: text(e.term), count: e.count }) })
    peer.onStatus(statuses => { record.statuses.push(statuses.map(s => s.state === 'down' ? `down: ${s.error} (retry in ${s.retryInMs} ms)` : `${s.state} ${s.address}`).join('; ')) })
  })
  tab.id = await tab.page.evaluate(() => (window.p2pPeer as BrowserPeer).id)
  return tab
}

/** Everything a tab shows, for failure messages. */
async function seen (tab: Tab): Promise<string> {
  const state = await tab.page.evaluate(async () => {
    const peer = window.p2pPeer
    if (peer === undefined) return { error: 'no window.p2pPeer' }
    return {
      id: peer.id,
      slot: peer.slot,
      statuses: window.networkTestRecord?.statuses.slice(-5),
      links: await peer.links(),
      connections: peer.libp2p.getConnections().map(c => `${c.remotePeer.toString().slice(-6)} ${c.remoteAddr.toString()} ${c.direction} ${c.limits === undefined ? '' : 'limited '}${c.status} since ${new Date(c.timeline.open).toISOString().slice(11, 23)}`),
      addresses: peer.libp2p.getMultiaddrs().map(String),
      discovery: peer.discovery.counters,
      channel: peer.member.channel.counters,
      events: window.networkTestRecord?.events.slice(-10),
      shared: peer.shared()
    }
  }).catch((err: Error) => ({ error: err.message }))
  const output = await tab.page.locator('#output').textContent().catch(() => '?')
  return `--- tab ${tab.name} (${tab.id}):\n${JSON.stringify(state, null, 1)}\nconsole output:\n${output}\npage log:\n${tab.log.slice(-30).join('\n')}`
}

async function seenAll (): Promise<string> {
  return `${await seen(a)}\n${await seen(b)}\nsignaller:\n${signaller.tail(15)}\nnode peer:\n${nodePeer.tail(15)}`
}

/** Polls a condition on the pages; fails with what they saw. */
async function until (what: string, check: () => Promise<boolean>, timeout = 20_000): Promise<void> {
  let last = ''
  const started = Date.now()
  try {
    await eventually(async () => await check().catch((err: Error) => { last = err.message; return false }), { timeout, interval: 250 })
  } catch {
    throw new Error(`${what}: not within ${timeout} ms${last === '' ? '' : ` (${last})`}\n${await seenAll()}`)
  }
  timing(what, started)
}

interface LinkSeen { webrtc: boolean, limited: boolean, addr: string, openedAt: number }

/** The tab's open connections to a peer, by transport. */
async function connectionsTo (tab: Tab, peer: string): Promise<LinkSeen[]> {
  return await tab.page.evaluate((id) => (window.p2pPeer as BrowserPeer).libp2p.getConnections()
    .filter(c => c.remotePeer.toString() === id && c.status === 'open')
    .map(c => ({ webrtc: c.remoteAddr.getComponents().some(p => p.name === 'webrtc'), limited: c.limits !== undefined, addr: c.remoteAddr.toString(), openedAt: c.timeline.open })), peer)
}

/** Whether `from` has an open, unlimited WebRTC connection to `to` (opened since `since`). */
async function directWebRtc (from: Tab, to: Tab, since = 0): Promise<boolean> {
  return (await connectionsTo(from, to.id)).some(c => c.webrtc && !c.limited && c.openedAt >= since)
}

/** Runs a goal in a tab's engine (not through the console); each answer's bindings as text, or `false`. */
async function prolog (tab: Tab, goal: string): Promise<string[]> {
  return await tab.page.evaluate(async (text) => {
    const answers: string[] = []
    for await (const answer of (window.p2pPeer as BrowserPeer).engine.queryText(text, { sandbox: false })) {
      if (answer.status === 'error') throw answer.error
      if (answer.status === 'failure') break
      answers.push(answer.text ?? 'true')
    }
    return answers
  }, goal)
}

/** Runs a goal in a stock swipl member and waits for it to finish. */
async function run (member: Proc, goal: string): Promise<void> {
  const from = member.lines.length
  member.write(`${goal}.\n`)
  await member.waitFor(/^done$/, { from })
}

async function consult (tab: Tab, program: string): Promise<void> {
  await tab.page.evaluate(async (text) => { await (window.p2pPeer as BrowserPeer).engine.consult(text) }, program)
}

/** Types a query at the console's prompt and waits until the output shows `text`. */
async function ask (tab: Tab, query: string, text: string): Promise<void> {
  await tab.page.locator('#query').fill(query)
  await tab.page.locator('#query').press('Enter')
  await until(`tab ${tab.name}'s console to show ${JSON.stringify(text)} after ${query}`, async () =>
    (await tab.page.locator('#output').textContent() ?? '').includes(`${query}\n${text}`) &&
    await tab.page.locator('#prompt').getAttribute('data-state') === 'idle')
}

async function statusesOf (tab: Tab): Promise<string> {
  return await tab.page.evaluate(() => window.networkTestRecord?.statuses.at(-1) ?? '')
}

async function shot (tab: Tab, name: string): Promise<void> {
  await tab.page.screenshot({ path: join(SHOTS, `network-${name}-${tab.name}.png`) })
}

async function subscribers (): Promise<number> {
  return (await getJson(`http://127.0.0.1:${signallerHttp}/healthz`)).subscribers
}

describe('two browser pages, a node peer and stock swipl on one network', () => {
  it('links the two pages by a direct WebRTC connection, and each page to the signaller', async () => {
    expect(a.id).not.toBe(b.id)
    await until('a direct WebRTC connection between the pages, seen from both', async () => await directWebRtc(a, b) && await directWebRtc(b, a), 45_000)
    for (const [tab, other] of [[a, b], [b, a]]) {
      const links = await tab.page.evaluate(async () => await (window.p2pPeer as BrowserPeer).links())
      expect(links.find(l => l.id === other.id)?.transports[0], await seen(tab)).toBe('webrtc')
      expect(links.find(l => l.id === other.id)?.role).toBe('peer')
      expect(links.find(l => l.id === deployment.signallerId)).toMatchObject({ role: 'signaller', transports: ['websocket'] })
      const webrtc = (await connectionsTo(tab, other.id)).filter(c => c.webrtc && !c.limited)
      expect(webrtc[0].addr).toMatch(new RegExp(`/webrtc/p2p/${other.id}$`))
      expect(await statusesOf(tab)).toBe(`up ws://localhost:${signallerPort}`)
    }
    await until('a ping round trip on the WebRTC link', async () =>
      (await a.page.evaluate(async (id) => (await (window.p2pPeer as BrowserPeer).links()).find(l => l.id === id)?.rttMs, b.id)) !== undefined)
    await shot(a, 'linked')
    await shot(b, 'linked')
  }, 90_000)

  it('delivers a stock swipl broadcast to both pages\' event logs and to a listen/2 handler consulted in page B', async () => {
    await consult(b, [
      ':- dynamic heard/2.',
      ':- listen(temperature(Room, C), (assertz(heard(Room, C)), format("heard ~w at ~w~n", [Room, C]))).'
    ].join('\n'))
    // The node peer and both pages subscribed at the signaller (the gossipsub hub).
    await until('three subscribers of the event topic at the signaller', async () => await subscribers() === 3)
    await run(swipl, 'broadcast(udp(s, temperature(kitchen, 21.5)))')
    for (const tab of [a, b]) {
      await until(`the broadcast in tab ${tab.name}'s event log`, async () => await tab.page.evaluate(() =>
        window.networkTestRecord?.events.some(e => e.kind === 'message' && !e.own && e.term === '{"functor":"temperature","args":[{"atom":"kitchen"},21.5]}') === true))
    }
    const event = await a.page.evaluate(() => window.networkTestRecord?.events.find(e => e.kind === 'message' && e.term.includes('kitchen')))
    expect(event?.latencyMs).toBeGreaterThanOrEqual(-1_000) // clocks of one host
    expect(event?.latencyMs).toBeLessThan(10_000)
    await until('the listen/2 handler of page B ran', async () => (await b.page.locator('#output').textContent() ?? '').includes('heard kitchen at 21.5'))
    await ask(b, 'heard(Room, C).', 'Room = kitchen,\nC = 21.5.')
    await shot(b, 'broadcast')
  })

  it('shares a clause asserted in page A with page B, and a retract in page B with page A', async () => {
    for (const tab of [a, b]) await consult(tab, ':- shared(likes/2).')
    await ask(a, 'assertz(likes(alice, prolog)).', 'true.')
    await until('likes(alice, prolog) in page B', async () => (await prolog(b, 'likes(alice, X).')).includes('X = prolog'))
    await ask(b, 'likes(alice, X).', 'X = prolog.')
    expect(await b.page.evaluate(() => (window.p2pPeer as BrowserPeer).shared())).toContainEqual({ name: 'likes', arity: 2, clauses: 1 })
    await shot(b, 'shared')

    await ask(b, 'retract(likes(alice, prolog)).', 'true.')
    await until('likes(alice, prolog) gone from page A', async () => (await prolog(a, 'likes(alice, X).')).length === 0)
    await ask(a, 'likes(alice, X).', 'false.')
    expect(await a.page.evaluate(() => (window.p2pPeer as BrowserPeer).shared())).toContainEqual({ name: 'likes', arity: 2, clauses: 0 })
    await shot(a, 'retracted')
  })

  it('shows a reopened page A\'s knowledge from IndexedDB before the network answers, then what it missed; a reload keeps its id', async () => {
    await ask(a, 'assertz(likes(ann, datalog)).', 'true.')
    await until('likes(ann, datalog) in page B', async () => (await prolog(b, 'likes(ann, X).')).includes('X = datalog'))
    const id = a.id
    // Page A goes away; page B asserts meanwhile.
    await a.page.goto('about:blank')
    await ask(b, 'assertz(likes(bob, wasm)).', 'true.')
    // A comes back cut off from the signaller: it knows what it stored, nothing newer.
    a.cutOff = true
    const reopened = Date.now()
    a = await openTab('A', a)
    expect(a.id, 'a reopened tab keeps its slot and so its peer id').toBe(id)
    await ask(a, 'likes(ann, X).', 'X = datalog.')
    expect(await prolog(a, 'likes(bob, X).')).toEqual([])
    expect(await a.page.evaluate(async () => (await (window.p2pPeer as BrowserPeer).links()).length)).toBe(0)
    await until('page A to say it cannot reach the signaller', async () => (await statusesOf(a)).startsWith('down: cannot reach signaller ws://localhost:'))
    await shot(a, 'offline-from-indexeddb')

    // Back in reach: A catches up with what B asserted while A was away.
    a.cutOff = false
    await until('likes(bob, wasm) in page A', async () => (await prolog(a, 'likes(bob, X).')).includes('X = wasm'), 30_000)
    await ask(a, 'likes(bob, X).', 'X = wasm.')
    await until('a new WebRTC link between the pages', async () => await directWebRtc(a, b, reopened) && await directWebRtc(b, a, reopened), 45_000)
    await shot(a, 'caught-up')

    // The browser's reload: same slot, same id, the knowledge at once.
    const reloaded = Date.now()
    a = await openTab('A', a, 'reload')
    expect(a.id, 'a reloaded tab keeps its peer id').toBe(id)
    expect(await prolog(a, 'likes(bob, X).')).toEqual(['X = wasm'])
    await until('a WebRTC link after the reload', async () => await directWebRtc(a, b, reloaded) && await directWebRtc(b, a, reloaded), 45_000)
    await shot(a, 'reloaded')
  }, 120_000)

  it('keeps the pages\' WebRTC link while the signaller is down, and reconnects both without a reload when it is back', async () => {
    await signaller.stop('SIGKILL')
    for (const tab of [a, b]) {
      await until(`page ${tab.name} to report the signaller down`, async () =>
        (await statusesOf(tab)).startsWith(`down: cannot reach signaller ws://localhost:${signallerPort}: is the signaller running (npm start, or docker-compose-signaller.yml up)?`))
    }
    expect(await directWebRtc(a, b), await seenAll()).toBe(true)
    expect(await directWebRtc(b, a)).toBe(true)
    // The link still carries shared knowledge.
    await ask(a, 'assertz(likes(carl, clp)).', 'true.')
    await until('likes(carl, clp) in page B over WebRTC alone', async () => (await prolog(b, 'likes(carl, X).')).includes('X = clp'))
    await shot(a, 'signaller-down')
    await shot(b, 'signaller-down')

    signaller = startSignaller()
    await signaller.waitFor(/listening on/, { timeout: 60_000 })
    for (const tab of [a, b]) {
      await until(`page ${tab.name} to reconnect to the signaller`, async () => await statusesOf(tab) === `up ws://localhost:${signallerPort}`, 30_000)
    }
    expect(await directWebRtc(a, b)).toBe(true)
    // New relay reservations: a page that arrives now can reach these two over WebRTC.
    for (const tab of [a, b]) {
      await until(`page ${tab.name} to hold a relay reservation again`, async () => await tab.page.evaluate(() =>
        (window.p2pPeer as BrowserPeer).libp2p.getMultiaddrs().some(address => address.toString().includes('/p2p-circuit/webrtc/'))))
    }
    // Messages take the signaller's path again: stock swipl -> node peer -> signaller -> pages.
    await until('three subscribers at the restarted signaller', async () => await subscribers() === 3, 30_000)
    await run(swipl, 'broadcast(udp(s, temperature(hall, 19.0)))')
    for (const tab of [a, b]) {
      await until(`the second broadcast in tab ${tab.name}'s event log`, async () => await tab.page.evaluate(() =>
        window.networkTestRecord?.events.some(e => e.kind === 'message' && e.term.includes('hall')) === true))
    }
    await shot(a, 'signaller-back')
    await shot(b, 'signaller-back')
    expect(browser.problems.filter(p => p.startsWith('page error')), browser.problems.join('\n')).toEqual([])
  }, 120_000)
})
