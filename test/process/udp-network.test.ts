/**
 * The network on the Node side, as separate real processes inside a private network namespace
 * (`npm test` runs vitest through test/netns.sh): a signaller, node peers A, B and C each bridging
 * its own multicast port, and stock swipl (library(udp_broadcast)) on the groups of A and B.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, freePort, getJson, makeDeployment, multicastSender, start, startTs } from '../support/processes.ts'
import type { Proc } from '../support/processes.ts'
import type { Socket } from 'node:dgram'

interface Side { port: number, http: number, peer: Proc }

let signaller: Proc
let a: Side
let b: Side
let c: Side
let swiplA: Proc
let swiplB: Proc
let sender: Socket

async function startNodePeer (name: string, deployment: Awaited<ReturnType<typeof makeDeployment>>, ...extra: string[]): Promise<Side> {
  const port = await freePort()
  const http = await freePort()
  const peer = startTs(`node-peer ${name}`, 'node-peer/main.ts', [
    '--identity', deployment.identity, '--peers', deployment.peers, '--name', name,
    '--port', String(port), '--http-port', String(http), '--data-dir', `${deployment.dir}/${name}`, ...extra
  ])
  return { port, http, peer }
}

function startSwipl (name: string, port: number, ...flags: string[]): Proc {
  return start(name, 'swipl', ['test/support/udp_member.pl', String(port), ...flags])
}

/** Runs a goal in a stock swipl member and waits for it to finish. */
async function run (swipl: Proc, goal: string): Promise<void> {
  const from = swipl.lines.length
  swipl.write(`${goal}.\n`)
  await swipl.waitFor(/^done$/, { from })
}

async function counters (side: Side): Promise<Record<string, number>> {
  return (await getJson(`http://127.0.0.1:${side.http}/healthz`)).udp
}

async function send (port: number, payload: string | Uint8Array): Promise<void> {
  await new Promise<void>((resolve, reject) => sender.send(payload, port, '239.0.0.2', (err) => { err == null ? resolve() : reject(err) }))
}

beforeAll(async () => {
  const signallerPort = await freePort()
  const signallerHttp = await freePort()
  const deployment = await makeDeployment(signallerPort)
  signaller = startTs('signaller', 'signaller/main.ts', [
    '--identity', deployment.identity, '--data-dir', `${deployment.dir}/signaller`, '--host', '127.0.0.1', '--port', String(signallerPort), '--http-port', String(signallerHttp)
  ])
  await signaller.waitFor(/listening on/)
  ;[a, b, c] = await Promise.all([
    startNodePeer('a', deployment),
    startNodePeer('b', deployment),
    // C's own engine answers number(X) with 6 and 7 and echoes temperatures to the network.
    startNodePeer('c', deployment, '--consult', 'test/support/peer_handlers.pl')
  ])
  await Promise.all([a, b, c].map(async side => side.peer.waitFor(/bridging udp/, { timeout: 60_000 })))
  // Gossipsub delivers once every peer's subscription has reached the hub.
  await eventually(async () => (await getJson(`http://127.0.0.1:${signallerHttp}/healthz`)).subscribers === 3, { timeout: 30_000 })
  swiplA = startSwipl('swipl A', a.port)
  swiplB = startSwipl('swipl B', b.port, 'answer')
  await Promise.all([swiplA.waitFor(/^ready$/), swiplB.waitFor(/^ready$/)])
  sender = await multicastSender()
}, 120_000)

afterAll(async () => {
  sender?.close()
  await Promise.all([swiplA, swiplB].map(async p => p?.stop()))
  await Promise.all([a, b, c].map(async side => side?.peer.stop()))
  await signaller?.stop()
})

describe('stock swipl on two sides of the network', () => {
  it('hears on side B with listen/2 what side A broadcast, and what the handler of node peer C made of it', async () => {
    const from = swiplB.lines.length
    await run(swiplA, 'broadcast(udp(s, temperature(kitchen, 21.5)))')
    await swiplB.waitFor(/^heard temperature\(kitchen,21\.5\)$/, { from, timeout: 10_000 })
    await swiplB.waitFor(/^heard echo\(temperature\(kitchen,21\.5\)\)$/, { from, timeout: 10_000 })
  })

  it('collects on side A the answers of side B and of node peer C to broadcast_request/1', async () => {
    const from = swiplA.lines.length
    await run(swiplA, 'findall(X, broadcast_request(udp(s, number(X))), Xs), msort(Xs, Sorted), format("answers ~q~n", [Sorted])')
    const [, answers] = await swiplA.waitFor(/^answers (.*)$/, { from })
    expect(answers).toBe('[1,2,3,4,5,6,7]')
  })

  it('counts with network/2, in node peer C\'s handler, the three node peers that run the goal', async () => {
    const from = swiplB.lines.length
    await run(swiplA, 'broadcast(udp(s, count_peers))')
    await swiplB.waitFor(/^heard echo\(peers_counted\(3\)\)$/, { from, timeout: 10_000 })
  })

  it('runs a goal on every node peer for stock swipl\'s broadcast_request(udp(S, network(G)))', async () => {
    const from = swiplA.lines.length
    await run(swiplA, 'findall(B, broadcast_request(udp(s, network(current_prolog_flag(bounded, B)))), Bs), format("network answers ~q~n", [Bs])')
    const [, answers] = await swiplA.waitFor(/^network answers (.*)$/, { from })
    expect(answers).toBe('[false,false,false]')
  })

  it('stops the other peers\' runs of a network/2 goal when its asker cut after the first answer', async () => {
    const from = swiplB.lines.length
    await run(swiplA, 'broadcast(udp(s, first_tick))')
    await swiplB.waitFor(/^heard echo\(first_tick\(1\)\)$/, { from, timeout: 10_000 })
    const peerCounters = async (side: Side): Promise<Record<string, number>> => (await getJson(`http://127.0.0.1:${side.http}/healthz`)).peer
    await eventually(async () => ((await peerCounters(a)).in_cancel ?? 0) >= 1 && ((await peerCounters(b)).in_cancel ?? 0) >= 1)
    const sent = async (): Promise<number[]> => await Promise.all([a, b].map(async side => (await peerCounters(side)).out_query_answer ?? 0))
    const afterCancel = await sent()
    await new Promise(resolve => setTimeout(resolve, 1_500))
    // Uncancelled, each would go on with an answer every 10 ms until its 8 s timeout.
    expect(await sent()).toEqual(afterCancel)
    expect(Math.max(...afterCancel)).toBeLessThan(500)
  })

  it('delivers a burst of 1,000 datagrams each once and in order', async () => {
    await run(swiplA, 'forall(between(1, 1000, N), broadcast(udp(s, seq(a, N))))')
    let report = ''
    let bridges = ''
    await eventually(async () => {
      const from = swiplB.lines.length
      await run(swiplB, 'udp_member:seq_report(a)')
      report = (await swiplB.waitFor(/^seq a .*$/, { from }))[0]
      bridges = JSON.stringify({ a: await counters(a), b: await counters(b) })
      return /count=1000 /.test(report)
    // Generous: on two cores shared with the browser tests, the bridges' engines fall well behind.
    }, { timeout: 100_000, interval: 500, describe: () => `${report}; bridges ${bridges}` })
    expect(report).toBe('seq a count=1000 in_order=true duplicates=0')
  }, 120_000)
})

describe('garbage on a group', () => {
  it('is refused and counted while valid traffic keeps flowing and no process dies', async () => {
    const deep = 20_000
    const garbage: Array<[string, string | Uint8Array]> = [
      ['random bytes', crypto.getRandomValues(new Uint8Array(700))],
      ['truncated prefix', '%-prol'],
      ['prefix alone', '%-prolog-\n'],
      ['unbalanced term', '%-prolog-\nsend(foo(bar, [1, 2)'],
      ['not a udp_broadcast shape', '%-prolog-\nhello(world)'],
      ['invalid UTF-8', Uint8Array.from([...Buffer.from('%-prolog-\nsend(\''), 0xff, 0xfe, 0xc3, ...Buffer.from('\')')])],
      ['64 KiB datagram', `%-prolog-\nsend('${'x'.repeat(65_507 - 20)}')`],
      ['list nested 20,000 deep', `%-prolog-\nsend(${'['.repeat(deep)}${']'.repeat(deep)})`],
      ['CBOR junk', Uint8Array.from([0xd9, 0xd9, 0xf7, 0xa1, 0x61, 0x76, 0x18])]
    ]
    const before = await counters(c)
    for (let i = 0; i < garbage.length; i++) {
      await send(c.port, garbage[i][1])
      await send(c.port, `%-prolog-\nsend(ok(${i}))`)
    }
    await eventually(async () => {
      const from = swiplB.lines.length
      await run(swiplB, 'aggregate_all(count, udp_member:got(ok, _), N), format("ok ~w~n", [N])')
      return (await swiplB.waitFor(/^ok (\d+)$/, { from }))[1] === String(garbage.length)
    }, { timeout: 20_000, interval: 250 })
    const after = await counters(c)
    const refused = (k: Record<string, number>): number => Object.entries(k).filter(([key]) => key.startsWith('refused_')).reduce((n, [, v]) => n + v, 0)
    expect(refused(after) - refused(before), JSON.stringify(after)).toBe(garbage.length)
    for (const proc of [signaller, a.peer, b.peer, c.peer, swiplA, swiplB]) expect(proc.alive, proc.name).toBe(true)
  })
})
