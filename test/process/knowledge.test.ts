/**
 * Shared knowledge across real processes in a private network namespace: node peers that assert
 * and retract through their UDP bridges (the `send(assert(C))` convention), one of them away or
 * killed meanwhile, a late joiner, a kill -9 in a burst, and a stock swipl that adds and asks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, freePort, getJson, makeDeployment, multicastSender, start, startTs } from '../support/processes.ts'
import type { Proc } from '../support/processes.ts'
import type { Socket } from 'node:dgram'

type Deployment = Awaited<ReturnType<typeof makeDeployment>>
interface Side { name: string, port: number, http: number, peer: Proc }
interface Kb { clauses: number, events: number, digest: string }

let deployment: Deployment
let signaller: Proc
let signallerHttp: number
let sender: Socket
const sides = new Map<string, Side>()

async function startSide (name: string, options: { peers?: string, port?: number, http?: number } = {}): Promise<Side> {
  const port = options.port ?? await freePort()
  const http = options.http ?? await freePort()
  const peer = startTs(`node-peer ${name}`, 'node-peer/main.ts', [
    '--identity', deployment.identity, '--peers', options.peers ?? deployment.peers, '--name', name,
    '--port', String(port), '--http-port', String(http), '--data-dir', `${deployment.dir}/${name}`,
    '--consult', 'test/support/kb_program.pl'
  ])
  await peer.waitFor(/status on http/, { timeout: 60_000 })
  const side = { name, port, http, peer }
  sides.set(name, side)
  return side
}

async function kbOf (side: Side): Promise<Kb> {
  return (await getJson(`http://127.0.0.1:${side.http}/healthz`)).kb
}

/**
 * Sends `send(Term)` datagrams into a side's group, 250 at a time, each batch once the bridge has
 * taken the one before: UDP has no flow control, and on a loaded machine a burst overflows the
 * bridge's socket buffer, which would test the kernel rather than the network.
 */
async function sendAll (side: Side, terms: string[]): Promise<void> {
  const accepted = async (): Promise<number> => (await getJson(`http://127.0.0.1:${side.http}/healthz`)).udp.accepted_send ?? 0
  const start = await accepted()
  for (let i = 0; i < terms.length; i += 250) {
    const batch = terms.slice(i, i + 250)
    for (const term of batch) sender.send(`%-prolog-\nsend(${term})`, side.port, '239.0.0.2')
    const expected = start + i + batch.length
    let seen = 0
    await eventually(async () => (seen = await accepted()) >= expected, { interval: 20, describe: () => `${side.name}: the bridge took ${seen - start} of ${i + batch.length} datagrams` })
  }
}

/** Sends `send(Term)` datagrams as fast as a burst comes, paced only by a timer: to a peer that may die meanwhile. */
async function sendBurst (side: Side, terms: string[]): Promise<void> {
  for (let i = 0; i < terms.length; i++) {
    sender.send(`%-prolog-\nsend(${terms[i]})`, side.port, '239.0.0.2')
    if (i % 200 === 199) await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function converged (names: string[], expected?: number): Promise<Kb> {
  let last: Kb[] = []
  await eventually(async () => {
    last = await Promise.all(names.map(async n => kbOf(sides.get(n) as Side)))
    return last.every(kb => kb.digest === last[0].digest && kb.clauses === last[0].clauses) &&
      (expected === undefined || last[0].clauses === expected)
  }, { timeout: 60_000, interval: 250, describe: () => JSON.stringify(last) })
  return last[0]
}

async function subscribers (): Promise<number> {
  return (await getJson(`http://127.0.0.1:${signallerHttp}/healthz`)).subscribers
}

beforeAll(async () => {
  const port = await freePort()
  signallerHttp = await freePort()
  deployment = await makeDeployment(port)
  signaller = startTs('signaller', 'signaller/main.ts', ['--identity', deployment.identity, '--data-dir', `${deployment.dir}/signaller`,
    '--host', '127.0.0.1', '--port', String(port), '--http-port', String(signallerHttp)])
  await signaller.waitFor(/listening on/)
  await Promise.all(['a', 'b', 'c'].map(async name => startSide(name)))
  await eventually(async () => await subscribers() === 3, { timeout: 30_000 })
  sender = await multicastSender()
}, 120_000)

afterAll(async () => {
  sender?.close()
  await Promise.all([...sides.values()].map(async side => side.peer.stop()))
  await signaller?.stop()
})

// Each step waits up to a minute for convergence; the test's own limit is above that, so a
// failure says what the replicas held rather than just 'timed out'.
describe('shared knowledge', { timeout: 180_000 }, () => {
  it('converges when three peers assert and retract while one of them is killed and comes back', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map(n => sides.get(n) as Side)
    await Promise.all([
      sendAll(a, Array.from({ length: 300 }, (_, i) => `assert(likes(a${i}, x))`)),
      sendAll(b, Array.from({ length: 300 }, (_, i) => `assert(likes(b${i}, x))`)),
      sendAll(c, Array.from({ length: 300 }, (_, i) => `assert(likes(c${i}, x))`))
    ])
    await c.peer.stop('SIGKILL')
    await sendAll(a, Array.from({ length: 100 }, (_, i) => `retract(likes(b${i}, x))`))
    await sendAll(b, Array.from({ length: 100 }, (_, i) => `assert(likes(late${i}, y))`))
    await converged(['a', 'b'])
    await startSide('c', { port: c.port, http: c.http })
    const kb = await converged(['a', 'b', 'c'])
    // Every assert of c that was stored before the kill is there; a and b's are all there.
    expect(kb.clauses).toBeGreaterThanOrEqual(300 + 300 - 100 + 100)
  })

  it('brings a peer that was away during 1,000 asserts and 200 retracts up to date exactly', async () => {
    const c = sides.get('c') as Side
    const before = (await converged(['a', 'b', 'c'])).clauses
    await c.peer.stop()
    await sendAll(sides.get('a') as Side, Array.from({ length: 1000 }, (_, i) => `assert(fact(away${i}))`))
    // b retracts what it has seen (add-wins): a retract of a clause not yet there removes nothing.
    await converged(['a', 'b'], before + 1000)
    await sendAll(sides.get('b') as Side, Array.from({ length: 200 }, (_, i) => `retract(fact(away${i}))`))
    await converged(['a', 'b'], before + 800)
    await startSide('c', { port: c.port, http: c.http })
    await converged(['a', 'b', 'c'], before + 800)
  })

  it('gives a peer that starts after 10,000 asserts all 10,000', async () => {
    const before = (await converged(['a', 'b'])).clauses
    await sendAll(sides.get('a') as Side, Array.from({ length: 10_000 }, (_, i) => `assert(fact(n${i}))`))
    await converged(['a', 'b'], before + 10_000)
    const started = Date.now()
    await startSide('late')
    await converged(['a', 'late'], before + 10_000)
    console.log(`catch-up of ${before + 10_000} clauses: ${Date.now() - started} ms from process start`)
  })

  it('keeps every acknowledged clause when a node peer is killed with kill -9 in a 5,000-assert burst', async () => {
    const b = sides.get('b') as Side
    const burst = await startSide('burst')
    const baseline = (await converged(['b', 'burst'])).clauses
    const sending = sendBurst(burst, Array.from({ length: 5000 }, (_, i) => `assert(fact(burst${i}))`))
    // Kill at some moment in the middle of the burst, once b has seen part of it.
    await eventually(async () => (await kbOf(b)).clauses > baseline + 500 + Math.floor(Math.random() * 2000), { timeout: 60_000, interval: 20 })
    await burst.peer.stop('SIGKILL')
    await sending
    // b heard only what burst published, and burst publishes only what it stored.
    await new Promise(resolve => setTimeout(resolve, 1000))
    const heard = (await kbOf(b)).clauses - baseline
    const offline = await freePort()
    const nowhere = `${deployment.dir}/nowhere.json`
    await (await import('node:fs/promises')).writeFile(nowhere, JSON.stringify({ signallers: [`/ip4/127.0.0.1/tcp/${offline}/ws/p2p/${deployment.signallerId}`] }))
    const alone = await startSide('burst', { peers: nowhere, port: burst.port, http: burst.http })
    const kept = (await kbOf(alone)).clauses - baseline
    expect(kept).toBeGreaterThanOrEqual(heard)
    await alone.peer.stop()
    await startSide('burst', { port: burst.port, http: burst.http })
    await converged(['b', 'burst'])
  })

  it('lets a stock swipl add to the knowledge, ask it with broadcast_request and retract from it', async () => {
    const a = sides.get('a') as Side
    const swipl = start('swipl', 'swipl', ['test/support/udp_member.pl', String(a.port)])
    await swipl.waitFor(/^ready$/)
    swipl.write('broadcast(udp(s, assert(likes(alice, prolog)))).\n')
    await converged(['a', 'b'])
    let answer = ''
    await eventually(async () => {
      const from = swipl.lines.length
      swipl.write('findall(X, broadcast_request(udp(s, likes(alice, X))), Xs), sort(Xs, S), format("likes ~q~n", [S]).\n')
      answer = (await swipl.waitFor(/^likes .*$/, { from }))[0]
      return answer === 'likes [prolog]'
    }, { timeout: 20_000, interval: 500, describe: () => answer })
    // A clause with a variable goes as a request; the reply is the change as done.
    const from = swipl.lines.length
    swipl.write('findall(X, broadcast_request(udp(s, retract(likes(alice, X)))), Xs), format("retracted ~q~n", [Xs]).\n')
    expect((await swipl.waitFor(/^retracted .*$/, { from }))[0]).toBe('retracted [prolog]')
    await eventually(async () => {
      const from = swipl.lines.length
      swipl.write('findall(X, broadcast_request(udp(s, likes(alice, X))), Xs), format("likes ~q~n", [Xs]).\n')
      answer = (await swipl.waitFor(/^likes .*$/, { from }))[0]
      return answer === 'likes []'
    }, { timeout: 20_000, interval: 500, describe: () => answer })
    await swipl.stop()
  })
})
