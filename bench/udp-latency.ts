/**
 * Datagram to a remote stock swipl's listen/2: a sender on node peer A's group, through A, the
 * signaller and node peer B, to a stock swipl on B's group; and, as the floor in the same run, the
 * same datagrams sent straight into B's group (raw UDP multicast on loopback plus swipl's own
 * decoding). Steady 200 datagrams/s, 1,000 of each. Run inside a private network namespace:
 * `npm run bench`.
 */
import { createSocket } from 'node:dgram'
import { eventually, freePort, getJson, makeDeployment, start, startTs } from '../test/support/processes.ts'
import type { Figure } from './figure.ts'
import type { Proc } from '../test/support/processes.ts'

const COUNT = 1000
const RATE = 200


export async function udpLatency (): Promise<Figure> {
  const signallerPort = await freePort()
  const signallerHttp = await freePort()
  const deployment = await makeDeployment(signallerPort)
  const signaller = startTs('signaller', 'signaller/main.ts', ['--identity', deployment.identity, '--data-dir', `${deployment.dir}/signaller`, '--host', '127.0.0.1', '--port', String(signallerPort), '--http-port', String(signallerHttp)])
  await signaller.waitFor(/listening on/)
  const [portA, portB] = [await freePort(), await freePort()]
  for (const [name, port] of [['a', portA], ['b', portB]] as const) {
    startTs(`node-peer ${name}`, 'node-peer/main.ts', ['--identity', deployment.identity, '--peers', deployment.peers, '--name', name, '--port', String(port), '--data-dir', `${deployment.dir}/${name}`])
  }
  await eventually(async () => (await getJson(`http://127.0.0.1:${signallerHttp}/healthz`)).subscribers === 2, { timeout: 60_000 })
  const swipl = start('swipl', 'swipl', ['bench/latency_listener.pl', String(portB)])
  await swipl.waitFor(/^ready$/)

  const floor = await measure(swipl, portB, 0)
  const network = await measure(swipl, portA, COUNT)
  return { name: 'datagram → remote stock swipl listen/2 (200/s)', unit: 'ms', ...network, floor: { name: 'raw UDP multicast into the same swipl', ...floor } }
}

async function measure (swipl: Proc, port: number, firstN: number): Promise<{ median: number, p99: number, max: number }> {
  const sender = createSocket('udp4')
  await new Promise<void>(resolve => sender.bind(0, '127.0.0.1', resolve))
  sender.setMulticastInterface('127.0.0.1')
  const from = swipl.lines.length
  const started = performance.now()
  for (let i = 0; i < COUNT; i++) {
    const wait = started + (i * 1000) / RATE - performance.now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    const sentMicros = Math.round((performance.timeOrigin + performance.now()) * 1000)
    sender.send(`%-prolog-\nsend(lat(${firstN + i},${sentMicros}))`, port, '239.0.0.2')
  }
  await eventually(() => swipl.lines.slice(from).filter(l => l.startsWith('lat ')).length >= COUNT, { timeout: 20_000 })
  sender.close()
  const delays = swipl.lines.slice(from).filter(l => l.startsWith('lat ')).map(l => Number(l.split(' ')[2]) / 1000).sort((a, b) => a - b)
  return { median: delays[Math.floor(delays.length / 2)], p99: delays[Math.floor(delays.length * 0.99)], max: delays[delays.length - 1] }
}
