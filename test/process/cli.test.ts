/**
 * The command lines: `--help`, one clear line for each bad option, a program that does not load,
 * a signaller that cannot be reached, and the signaller's status endpoints and logs.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freePort, getJson, makeDeployment, startTs } from '../support/processes.ts'

describe('node-peer command line', () => {
  it('prints its options with --help', async () => {
    const proc = startTs('node-peer --help', 'node-peer/main.ts', ['--help'])
    expect(await proc.exited).toBe(0)
    const text = proc.lines.join('\n')
    for (const option of ['--identity', '--peers', '--group', '--port', '--interface', '--data-dir', '--log-level']) expect(text).toContain(option)
  })

  it.each([
    [['--port', 'seventy'], /--port must be a port number/],
    [['--group', '10.0.0.1'], /--group must be an IPv4 multicast address/],
    [['--interface', 'lo'], /--interface must be an IPv4 address/],
    [['--log-level', 'loud'], /--log-level must be error, warn, info or debug/],
    [['--colour'], /Unknown option '--colour'/],
    [['--identity', '/nonexistent/identity.json'], /identity.json not found: run `npm run identity`/]
  ])('refuses %j with one line and exit code 1 or 2', async (args, message) => {
    const proc = startTs('node-peer bad option', 'node-peer/main.ts', args)
    expect(await proc.exited).toBeGreaterThan(0)
    expect(proc.lines.filter(l => l !== '')).toHaveLength(1)
    expect(proc.lines[0]).toMatch(message)
  })

  it('stops, naming the file and the error, when its --consult program does not load', async () => {
    const deployment = await makeDeployment(await freePort())
    const program = join(deployment.dir, 'bad.pl')
    await writeFile(program, 'likes(a, b.\n')
    const proc = startTs('node-peer bad program', 'node-peer/main.ts', ['--identity', deployment.identity, '--peers', deployment.peers, '--port', '0', '--data-dir', `${deployment.dir}/data`, '--consult', program])
    expect(await proc.exited).toBeGreaterThan(0)
    expect(proc.lines).toContainEqual(expect.stringMatching(/cannot load .*bad\.pl: .*Syntax error/))
  })

  it('says which signaller it cannot reach and keeps trying', async () => {
    const port = await freePort()
    const deployment = await makeDeployment(port)
    const proc = startTs('node-peer alone', 'node-peer/main.ts', ['--identity', deployment.identity, '--peers', deployment.peers, '--port', '0', '--data-dir', `${deployment.dir}/data`])
    await proc.waitFor(new RegExp(`cannot reach signaller ws://127\\.0\\.0\\.1:${port} .*is it running`), { timeout: 60_000 })
    expect(proc.alive).toBe(true)
    await proc.stop()
  })
})

describe('signaller', () => {
  it('serves /healthz and /metrics, logs peers, and prints the mesh on SIGUSR1', async () => {
    const port = await freePort()
    const http = await freePort()
    const deployment = await makeDeployment(port)
    const signaller = startTs('signaller', 'signaller/main.ts', ['--identity', deployment.identity, '--data-dir', `${deployment.dir}/signaller`, '--host', '127.0.0.1', '--port', String(port), '--http-port', String(http)])
    await signaller.waitFor(new RegExp(`listening on /ip4/127\\.0\\.0\\.1/tcp/${port}/ws/p2p/${deployment.signallerId}`))
    const health = await getJson(`http://127.0.0.1:${http}/healthz`)
    expect(health).toMatchObject({ healthy: true, peerId: deployment.signallerId, peers: 0 })

    const peer = startTs('node-peer', 'node-peer/main.ts', ['--identity', deployment.identity, '--peers', deployment.peers, '--port', '0', '--data-dir', `${deployment.dir}/data`])
    await signaller.waitFor(/peer connected 12D3KooW\w+ from \/ip4\/127\.0\.0\.1/, { timeout: 60_000 })
    const metrics = await (await fetch(`http://127.0.0.1:${http}/metrics`)).text()
    expect(metrics).toMatch(/^signaller_peers 1$/m)
    const from = signaller.lines.length
    signaller.child.kill('SIGUSR1')
    await signaller.waitFor(/^topic \/p2p-prolog\/test\/events\/1: \d+ subscribers, mesh/, { from })
    await peer.stop()
    await signaller.waitFor(/peer disconnected 12D3KooW/)
    await signaller.stop()
  })
})

describe('web-config (npm run build:www)', () => {
  it('writes the page\'s network settings without the secret, with ICE servers when given', async () => {
    const deployment = await makeDeployment(9999)
    const out = `${deployment.dir}/p2p-config.json`
    const ice = '[{"urls":"stun:stun.example.org:3478"}]'
    const proc = startTs('web-config', 'scripts/web-config.ts', ['--identity', deployment.identity, '--peers', deployment.peers, '--out', out], { env: { ICE_SERVERS: ice } })
    expect(await proc.exited).toBe(0)
    const written = await readFile(out, 'utf8')
    expect(JSON.parse(written)).toEqual({
      network: 'test',
      signallers: [`/ip4/127.0.0.1/tcp/9999/ws/p2p/${deployment.signallerId}`],
      iceServers: [{ urls: 'stun:stun.example.org:3478' }]
    })
    const { secret } = JSON.parse(await readFile(deployment.identity, 'utf8')) as { secret: string }
    expect(written).not.toContain(secret)
  })

  it.each([
    ['[{"urls"', /--ice-servers must be JSON/],
    ['"stun:x"', /--ice-servers: "iceServers" must be a list of RTCIceServer objects/]
  ])('refuses --ice-servers %s with one line', async (ice, message) => {
    const deployment = await makeDeployment(9999)
    const proc = startTs('web-config', 'scripts/web-config.ts', ['--identity', deployment.identity, '--peers', deployment.peers, '--out', `${deployment.dir}/p2p-config.json`, '--ice-servers', ice])
    expect(await proc.exited).toBeGreaterThan(0)
    expect(proc.lines.filter(l => l !== '')).toHaveLength(1)
    expect(proc.lines[0]).toMatch(message)
  })
})
