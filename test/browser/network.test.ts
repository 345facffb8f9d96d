/**
 * Browser peers on a real network, in headless Chromium: a signaller and a node peer as real
 * processes, a stock swipl on the node peer's UDP group, and two pages of the built app (two tabs
 * of one profile: each tab claims a slot of its own, www/key-store.ts). Screenshots of each state
 * go to test-output/browser/network-*.png, each page's console to network-A.log and network-B.log.
 * What the pages saw (statuses, links, events, console) is printed when an assertion fails.
 *
 * The assertions read what a user sees: the console, the network status, the peers panel, the
 * event log and the shared predicates. The transport of a link is also checked on libp2p's
 * connections (`window.p2pPeer`, www/browser-peer.ts): direct WebRTC, not a relayed circuit.
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
 * A tab on the app, once its peer and console are up. With `reuse`, that tab loads the app again:
 * `reload` as the browser's reload button does.
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
      connections: peer.libp2p.getConnections().map(c => `${c.remotePeer.toString().slice(-6)} ${c.remoteAddr.toString()} ${c.direction} ${c.limits === undefined ? '' : 'limited '}${c.status} since ${new Date(c.timeline.open).toISOString().slice(11, 23)}`),
      addresses: peer.libp2p.getMultiaddrs().map(String),
      discovery: peer.discovery.counters,
      channel: peer.member.channel.counters
    }
  }).catch((err: Error) => ({ error: err.message }))
  const panels = await tab.page.evaluate(() => ['#network', '#peers', '#shared', '#events', '#output']
    .map(selector => `${selector}: ${(document.querySelector(selector) as HTMLElement | null)?.innerText.slice(0, 2_000) ?? '(none)'}`).join('\n'))
    .catch(() => '?')
  return `--- tab ${tab.name} (${tab.id}):\n${JSON.stringify(state, null, 1)}\n${panels}\npage log:\n${tab.log.slice(-30).join('\n')}`
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

/** Runs a goal in a stock swipl member and waits for it to finish. */
async function run (member: Proc, goal: string): Promise<void> {
  const from = member.lines.length
  member.write(`${goal}.\n`)
  await member.waitFor(/^done$/, { from })
}

/** Loads a program into the tab alone, with the program editor's "Consult locally". */
async function consultLocally (tab: Tab, program: string): Promise<void> {
  await tab.page.locator('#program').fill(program)
  await tab.page.locator('#consult-local').click()
  await until(`tab ${tab.name} to consult its program`, async () => await tab.page.locator('#program-result').textContent() === 'consulted into this page only')
}

/** Types a query at the console's prompt and waits until the output shows `text`. */
async function ask (tab: Tab, query: string, text: string): Promise<void> {
  await tab.page.locator('#query').fill(query)
  await tab.page.locator('#query').press('Enter')
  await until(`tab ${tab.name}'s console to show ${JSON.stringify(text)} after ${query}`, async () =>
    (await tab.page.locator('#output').textContent() ?? '').includes(`${query}\n${text}`) &&
    await tab.page.locator('#prompt').getAttribute('data-state') === 'idle')
}

/** The header's network status. */
async function networkStatus (tab: Tab): Promise<string> {
  return await tab.page.locator('#network').textContent() ?? ''
}

interface PeerRow { role: string, transports: string[], rtt: string }

/** The peers panel's row of a peer, as shown; undefined when the panel does not list it. */
async function peerRow (tab: Tab, id: string): Promise<PeerRow | undefined> {
  return await tab.page.evaluate((peer) => {
    const cells = document.querySelector(`#peers tr[data-peer="${peer}"]`)?.querySelectorAll('td')
    if (cells === undefined) return undefined
    return { role: cells[1].textContent ?? '', transports: Array.from(cells[2].querySelectorAll('.transport')).map(t => t.textContent ?? ''), rtt: cells[3].textContent ?? '' }
  }, id)
}

interface EventRow { kind: string, from: string, term: string, took: string }

/** The event log's rows, newest first, as shown. */
async function eventRows (tab: Tab): Promise<EventRow[]> {
  return await tab.page.evaluate(() => Array.from(document.querySelectorAll('#events tr')).map(row => {
    const cell = (i: number): string => row.querySelectorAll('td')[i]?.textContent ?? ''
    return { kind: cell(1), from: cell(2), term: cell(3), took: cell(4) }
  }))
}

/** The shared predicates panel's clause count of a predicate ('' when not listed). */
async function clauseCount (tab: Tab, predicate: string): Promise<string> {
  return await tab.page.evaluate((pi) => document.querySelector(`#shared li[data-predicate="${pi}"] .count`)?.textContent ?? '', predicate)
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
      const webrtc = (await connectionsTo(tab, other.id)).filter(c => c.webrtc && !c.limited)
      expect(webrtc[0].addr).toMatch(new RegExp(`/webrtc/p2p/${other.id}$`))
      // What the page shows: the other page over webrtc with a ping round trip, the signaller over
      // its WebSocket, and the header's status.
      await until(`tab ${tab.name}'s peers panel to show the other page over webrtc with a round trip`, async () => {
        const row = await peerRow(tab, other.id)
        return row?.role === 'peer' && row.transports[0] === 'webrtc' && /^\d+ ms$/.test(row.rtt)
      })
      expect(await peerRow(tab, deployment.signallerId)).toMatchObject({ role: 'signaller', transports: ['websocket'] })
      expect(await networkStatus(tab)).toBe(`online via ws://localhost:${signallerPort}`)
    }
    await shot(a, 'linked')
    await shot(b, 'linked')
  }, 90_000)

  it('delivers a stock swipl broadcast to both pages\' event logs and to a listen/2 handler consulted in page B', async () => {
    await consultLocally(b, [
      ':- dynamic heard/2.',
      ':- listen(temperature(Room, C), (assertz(heard(Room, C)), format("heard ~w at ~w~n", [Room, C]))).'
    ].join('\n'))
    // The node peer and both pages subscribed at the signaller (the gossipsub hub).
    await until('three subscribers of the event topic at the signaller', async () => await subscribers() === 3)
    await run(swipl, 'broadcast(udp(s, temperature(kitchen, 21.5)))')
    for (const tab of [a, b]) {
      await until(`the broadcast in tab ${tab.name}'s event log`, async () =>
        (await eventRows(tab)).some(e => e.kind === 'message' && e.term === 'temperature(kitchen,21.5)'))
      const row = (await eventRows(tab)).find(e => e.term === 'temperature(kitchen,21.5)')
      expect(row?.from).not.toBe('this page')
      const took = Number(/^(\d+) ms$/.exec(row?.took ?? '')?.[1])
      expect(took, `took ${row?.took}`).toBeGreaterThanOrEqual(0)
      expect(took).toBeLessThan(10_000)
    }
    await until('the listen/2 handler of page B ran', async () => (await b.page.locator('#output').textContent() ?? '').includes('heard kitchen at 21.5'))
    await ask(b, 'heard(Room, C).', 'Room = kitchen,\nC = 21.5.')
    await shot(b, 'broadcast')
  })

  it('shares a clause asserted in page A with page B, and a retract in page B with page A', async () => {
    await ask(a, 'shared(likes/2).', 'true.')
    await ask(a, 'shared(dislikes/2).', 'true.')
    await until('page A to list dislikes/2, declared and without clauses', async () => await clauseCount(a, 'dislikes/2') === '0 clauses')
    await ask(a, 'assertz(likes(alice, prolog)).', 'true.')
    // Page B declared nothing: the first clause from the network declares likes/2 there.
    await until('likes/2 with one clause in page B\'s shared predicates', async () => await clauseCount(b, 'likes/2') === '1 clause')
    await ask(b, 'likes(alice, X).', 'X = prolog.')
    expect((await eventRows(b)).find(e => e.kind === 'assert')).toMatchObject({ from: expect.not.stringMatching(/this page/), term: 'likes(alice,prolog)' })
    await shot(b, 'shared')

    await ask(b, 'retract(likes(alice, prolog)).', 'true.')
    await until('likes(alice, prolog) gone from page A\'s shared predicates', async () => await clauseCount(a, 'likes/2') === '0 clauses')
    await ask(a, 'likes(alice, X).', 'false.')
    expect((await eventRows(a))[0]).toMatchObject({ kind: 'retract', term: '1 clause' })
    await shot(a, 'retracted')
  })

  it('shows a reopened page A\'s knowledge from IndexedDB before the network answers, then what it missed; a reload keeps its id', async () => {
    await ask(a, 'assertz(likes(ann, datalog)).', 'true.')
    await until('likes(ann, datalog) in page B', async () => await clauseCount(b, 'likes/2') === '1 clause')
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
    await ask(a, 'likes(bob, X).', 'false.')
    await until('page A to say it cannot reach the signaller', async () => (await networkStatus(a)).startsWith(`offline: cannot reach signaller ws://localhost:${signallerPort}:`))
    expect(await a.page.locator('#peers').textContent()).toBe('no peer yet')
    await shot(a, 'offline-from-indexeddb')

    // Back in reach: A catches up with what B asserted while A was away, and its log says so.
    a.cutOff = false
    await until('page A\'s event log to show the catch-up', async () =>
      (await eventRows(a)).some(e => e.kind === 'sync' && /^caught up: [1-9]\d* asserts?, \d+ retracts?$/.test(e.term)), 30_000)
    await ask(a, 'likes(bob, X).', 'X = wasm.')
    await until('a new WebRTC link between the pages', async () => await directWebRtc(a, b, reopened) && await directWebRtc(b, a, reopened), 45_000)
    await shot(a, 'caught-up')

    // The browser's reload: same slot, same id, the knowledge at once.
    const reloaded = Date.now()
    a = await openTab('A', a, 'reload')
    expect(a.id, 'a reloaded tab keeps its peer id').toBe(id)
    await ask(a, 'likes(bob, X).', 'X = wasm.')
    await until('a WebRTC link after the reload', async () => await directWebRtc(a, b, reloaded) && await directWebRtc(b, a, reloaded), 45_000)
    await shot(a, 'reloaded')
  }, 120_000)

  it('keeps the pages\' WebRTC link while the signaller is down, and reconnects both without a reload when it is back', async () => {
    await signaller.stop('SIGKILL')
    for (const tab of [a, b]) {
      await until(`page ${tab.name} to report the signaller down`, async () =>
        (await networkStatus(tab)).startsWith(`offline: cannot reach signaller ws://localhost:${signallerPort}: is the signaller running (npm start, or docker-compose-signaller.yml up)? Retrying in`))
      await until(`page ${tab.name}'s peers panel to drop the signaller`, async () => await peerRow(tab, deployment.signallerId) === undefined)
    }
    expect(await directWebRtc(a, b), await seenAll()).toBe(true)
    expect(await directWebRtc(b, a)).toBe(true)
    expect((await peerRow(a, b.id))?.transports).toEqual(['webrtc'])
    // The link still carries shared knowledge.
    await ask(a, 'assertz(likes(carl, clp)).', 'true.')
    await until('likes(carl, clp) in page B over WebRTC alone', async () => (await eventRows(b)).some(e => e.kind === 'assert' && e.term === 'likes(carl,clp)'))
    await ask(b, 'likes(carl, X).', 'X = clp.')
    await shot(a, 'signaller-down')
    await shot(b, 'signaller-down')

    signaller = startSignaller()
    await signaller.waitFor(/listening on/, { timeout: 60_000 })
    for (const tab of [a, b]) {
      await until(`page ${tab.name} to reconnect to the signaller`, async () => await networkStatus(tab) === `online via ws://localhost:${signallerPort}`, 30_000)
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
      await until(`the second broadcast in tab ${tab.name}'s event log`, async () =>
        (await eventRows(tab)).some(e => e.kind === 'message' && e.term === 'temperature(hall,19.0)'))
    }
    await shot(a, 'signaller-back')
    await shot(b, 'signaller-back')
    expect(browser.problems.filter(p => p.startsWith('page error')), browser.problems.join('\n')).toEqual([])
  }, 120_000)
})
