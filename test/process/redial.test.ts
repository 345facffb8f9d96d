/**
 * A node peer whose signaller goes away redials with backoff and carries traffic again once the
 * signaller is back, without a restart of its own. The UDP side is plain dgram sockets here.
 */
import { createSocket } from 'node:dgram'
import { afterAll, expect, it } from 'vitest'
import { eventually, freePort, getJson, makeDeployment, multicastSender, startTs } from '../support/processes.ts'
import type { Proc } from '../support/processes.ts'
import type { Socket } from 'node:dgram'

const procs: Proc[] = []
const sockets: Socket[] = []

afterAll(async () => {
  for (const socket of sockets) socket.close()
  await Promise.all(procs.map(async p => p.stop()))
})

async function groupListener (port: number): Promise<string[]> {
  const heard: string[] = []
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  sockets.push(socket)
  await new Promise<void>(resolve => socket.bind(port, resolve))
  socket.addMembership('239.0.0.2', '127.0.0.1')
  socket.on('message', (bytes) => heard.push(bytes.toString()))
  return heard
}

it('reconnects to a restarted signaller and delivers again', async () => {
  const port = await freePort()
  const http = await freePort()
  const deployment = await makeDeployment(port)
  const signallerArgs = ['--identity', deployment.identity, '--data-dir', `${deployment.dir}/signaller`, '--host', '127.0.0.1', '--port', String(port), '--http-port', String(http)]
  let signaller = startTs('signaller', 'signaller/main.ts', signallerArgs)
  procs.push(signaller)
  await signaller.waitFor(/listening on/)
  const [portA, portB] = [await freePort(), await freePort()]
  for (const [name, udp] of [['a', portA], ['b', portB]] as const) {
    procs.push(startTs(`node-peer ${name}`, 'node-peer/main.ts', ['--identity', deployment.identity, '--peers', deployment.peers, '--name', name, '--port', String(udp), '--data-dir', `${deployment.dir}/${name}`]))
  }
  const heardOnB = await groupListener(portB)
  const sender = await multicastSender()
  sockets.push(sender)
  const sendFromA = async (n: number): Promise<void> => {
    await new Promise<void>(resolve => sender.send(`%-prolog-\nsend(round(${n}))`, portA, '239.0.0.2', () => { resolve() }))
  }
  // Keep sending until B hears it: delivery starts once both subscriptions reached the hub.
  const deliver = async (n: number): Promise<void> => {
    await eventually(async () => {
      await sendFromA(n)
      return heardOnB.some(text => text.includes(`round(${n})`))
    }, { timeout: 60_000, interval: 500 })
  }

  await deliver(1)
  await signaller.stop()
  await procs[1].waitFor(/disconnected from/)
  signaller = startTs('signaller again', 'signaller/main.ts', signallerArgs)
  procs.push(signaller)
  await signaller.waitFor(/listening on/)
  await eventually(async () => (await getJson(`http://127.0.0.1:${http}/healthz`)).subscribers === 2, { timeout: 30_000 })
  await deliver(2)
  expect(procs[1].lines.some(l => /cannot reach signaller ws:\/\/127\.0\.0\.1/.test(l))).toBe(true)
})
