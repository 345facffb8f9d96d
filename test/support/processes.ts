/**
 * Real processes for the tests: spawn, read their output line by line, wait for a line, stop.
 * `killAll()` ends every process started here; test/support/setup.ts calls it after each test
 * file, pass or fail.
 */
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createIdentity, derivePeerId, identityToJson } from '../../core/net/identity.ts'
import type { ChildProcess } from 'node:child_process'
import type { Socket } from 'node:dgram'

export const ROOT = new URL('../..', import.meta.url).pathname
const running = new Set<ChildProcess>()

export function killAll (): void {
  for (const child of running) child.kill('SIGKILL')
}

export class Proc {
  readonly lines: string[] = []
  private readonly waiters = new Set<() => void>()
  readonly exited: Promise<number | null>

  constructor (readonly name: string, readonly child: ChildProcess) {
    running.add(child)
    const onData = (buffer: { partial: string }) => (chunk: Buffer) => {
      buffer.partial += chunk.toString()
      const parts = buffer.partial.split('\n')
      buffer.partial = parts.pop() ?? ''
      for (const line of parts) this.push(line)
    }
    child.stdout?.on('data', onData({ partial: '' }))
    child.stderr?.on('data', onData({ partial: '' }))
    this.exited = new Promise(resolve => child.once('exit', (code) => { running.delete(child); this.wake(); resolve(code) }))
  }

  get alive (): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  private push (line: string): void {
    if (process.env.TEST_VERBOSE === '1') process.stderr.write(`[${this.name}] ${line}\n`)
    this.lines.push(line)
    this.wake()
  }

  private wake (): void {
    for (const waiter of this.waiters) waiter()
  }

  /** Waits until a line matches (counting from line `from`); fails with the output on timeout. */
  async waitFor (pattern: RegExp, options: { timeout?: number, from?: number } = {}): Promise<RegExpMatchArray> {
    const timeout = options.timeout ?? 20_000
    let index = options.from ?? 0
    const deadline = Date.now() + timeout
    while (true) {
      for (; index < this.lines.length; index++) {
        const match = this.lines[index].match(pattern)
        if (match !== null) return match
      }
      if (!this.alive) throw new Error(`${this.name} exited before printing ${String(pattern)}:\n${this.tail()}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${this.name} did not print ${String(pattern)} within ${timeout} ms:\n${this.tail()}`)
      await new Promise<void>(resolve => {
        const done = (): void => { clearTimeout(timer); this.waiters.delete(done); resolve() }
        const timer = setTimeout(done, left)
        this.waiters.add(done)
      })
    }
  }

  tail (n = 30): string {
    return this.lines.slice(-n).map(l => `  ${l}`).join('\n')
  }

  write (text: string): void {
    this.child.stdin?.write(text)
  }

  async stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.alive) this.child.kill(signal)
    await this.exited
  }
}

export function start (name: string, command: string, args: string[], options: { cwd?: string, env?: Record<string, string> } = {}): Proc {
  // Stock swipl joins its multicast group on whatever interface the route names: only inside the
  // private namespace of test/netns.sh is that loopback.
  if (process.env.P2P_PROLOG_NETNS !== '1') throw new Error('process tests send multicast: run them through test/netns.sh (npm test, npm run bench)')
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  return new Proc(name, child)
}

export function startTs (name: string, script: string, args: string[], options: { env?: Record<string, string> } = {}): Proc {
  return start(name, process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], options)
}

/** A fresh identity and peers file in a temporary folder; the signaller on 127.0.0.1:port. */
export async function makeDeployment (port: number): Promise<{ dir: string, identity: string, peers: string, signallerId: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-prolog-'))
  const identity = createIdentity('test')
  const signallerId = (await derivePeerId(identity, 'signaller')).toString()
  const identityFile = join(dir, 'identity.json')
  const peersFile = join(dir, 'peers.json')
  await writeFile(identityFile, JSON.stringify(identityToJson(identity)), { mode: 0o600 })
  await writeFile(peersFile, JSON.stringify({ signallers: [`/ip4/127.0.0.1/tcp/${port}/ws/p2p/${signallerId}`], peers: [] }))
  return { dir, identity: identityFile, peers: peersFile, signallerId }
}

/** A UDP socket that sends to multicast groups over loopback only. */
export async function multicastSender (): Promise<Socket> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  socket.setMulticastInterface('127.0.0.1')
  return socket
}

/**
 * A port number free for TCP and UDP. Test files run in parallel, and the kernel may give two of
 * them the same ephemeral port one after the other (UDP sockets with SO_REUSEADDR then share it
 * without a word), so each vitest worker takes numbers from a range of its own.
 */
let nextPort = 20_000 + (Number(process.env.VITEST_POOL_ID ?? 20) % 40) * 1000
export async function freePort (): Promise<number> {
  while (true) {
    const port = nextPort++
    if (await isFree(port)) return port
  }
}

async function isFree (port: number): Promise<boolean> {
  const udp = createSocket('udp4')
  const tcp = createServer()
  const bound = await Promise.all([
    new Promise<boolean>(resolve => { udp.once('error', () => { resolve(false) }); udp.bind(port, () => { resolve(true) }) }),
    new Promise<boolean>(resolve => { tcp.once('error', () => { resolve(false) }); tcp.listen(port, () => { resolve(true) }) })
  ])
  await Promise.all([
    new Promise<void>(resolve => { try { udp.close(() => { resolve() }) } catch { resolve() } }),
    new Promise<void>(resolve => { tcp.close(() => { resolve() }) })
  ])
  return bound.every(Boolean)
}

export async function getJson (url: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- test helper: JSON of our own /healthz
  const res = await fetch(url)
  return res.json()
}

/** Polls `check` until it returns true; fails with `describe()` on timeout. */
export async function eventually (check: () => Promise<boolean> | boolean, options: { timeout?: number, interval?: number, describe?: () => string } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeout ?? 20_000)
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met in time${options.describe === undefined ? '' : `: ${options.describe()}`}`)
    await new Promise(resolve => setTimeout(resolve, options.interval ?? 100))
  }
}
