/**
 * The floor "what a user would otherwise pick": Debian's redis-server, started on a free loopback
 * port inside the namespace (no persistence), and a minimal RESP client on node:net (no npm
 * dependency): one connection SUBSCRIBEs, another PUBLISHes. A message's trip is PUBLISH on one
 * client → redis-server → the subscribed client, the same shape as datagram → bridge → signaller
 * → peer (one broker in the middle).
 */
import { spawnSync } from 'node:child_process'
import { connect } from 'node:net'
import { freePort, start } from '../test/support/processes.ts'
import type { Proc } from '../test/support/processes.ts'
import type { Socket } from 'node:net'

export function redisAvailable (): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}

export async function startRedis (): Promise<{ proc: Proc, port: number }> {
  const port = await freePort()
  const proc = start('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'])
  // With --loglevel warning it prints nothing when all is well: wait until it answers.
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      const client = await RespClient.connect(port)
      await client.command('PING')
      client.close()
      return { proc, port }
    } catch (err) {
      if (!proc.alive || Date.now() > deadline) throw new Error(`redis-server did not start: ${(err as Error).message}\n${proc.tail()}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

type Reply = string | number | null | Reply[] | Error

/** RESP2 over one TCP connection: commands as arrays of bulk strings, replies parsed incrementally. */
export class RespClient {
  private buffer: Buffer = Buffer.alloc(0)
  private readonly waiting: Array<(reply: Reply) => void> = []
  /** Pushed messages of a subscribed connection: (channel, payload). */
  onMessage?: (channel: string, payload: string) => void

  private constructor (private readonly socket: Socket) {
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
      for (;;) {
        const parsed = parse(this.buffer, 0)
        if (parsed === undefined) break
        this.buffer = this.buffer.subarray(parsed.end)
        this.deliver(parsed.reply)
      }
    })
  }

  static async connect (port: number): Promise<RespClient> {
    return await new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => { socket.off('error', reject); resolve(new RespClient(socket)) })
      socket.once('error', reject)
    })
  }

  private deliver (reply: Reply): void {
    if (Array.isArray(reply) && reply[0] === 'message' && this.onMessage !== undefined) {
      this.onMessage(reply[1] as string, reply[2] as string)
      return
    }
    this.waiting.shift()?.(reply)
  }

  /** Sends a command without waiting for its reply (a subscriber gets pushes, not replies). */
  write (...args: string[]): void {
    this.socket.write(`*${args.length}\r\n${args.map(a => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
  }

  async command (...args: string[]): Promise<Reply> {
    const reply = new Promise<Reply>(resolve => this.waiting.push(resolve))
    this.write(...args)
    const result = await reply
    if (result instanceof Error) throw result
    return result
  }

  close (): void {
    this.socket.destroy()
  }
}

function parse (buf: Buffer, at: number): { reply: Reply, end: number } | undefined {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[at])
  const line = buf.toString('utf8', at + 1, eol)
  switch (type) {
    case '+': return { reply: line, end: eol + 2 }
    case '-': return { reply: new Error(line), end: eol + 2 }
    case ':': return { reply: Number(line), end: eol + 2 }
    case '$': {
      const n = Number(line)
      if (n < 0) return { reply: null, end: eol + 2 }
      if (buf.length < eol + 2 + n + 2) return undefined
      return { reply: buf.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 }
    }
    case '*': {
      const n = Number(line)
      if (n < 0) return { reply: null, end: eol + 2 }
      const items: Reply[] = []
      let end = eol + 2
      for (let i = 0; i < n; i++) {
        const item = parse(buf, end)
        if (item === undefined) return undefined
        items.push(item.reply)
        end = item.end
      }
      return { reply: items, end }
    }
    default: throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`)
  }
}
