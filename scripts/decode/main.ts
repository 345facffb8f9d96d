/**
 * `npm run --silent decode -- [options]`: this project's traffic for humans. From a capture
 * (tcpdump's -w output, live on stdin or from a file) it prints each UDP datagram: the
 * udp_broadcast text of stock swipl and the bridges, and the CBOR events of docs/wire.md. With
 * --live it joins the network and prints the gossipsub events, which no capture can read. See
 * `--help`, and docs/deployment.md ("Watching the traffic").
 */
import '../../node/node20.ts'
import { createReadStream } from 'node:fs'
import { parseCli, parsePort, runMain, UsageError } from '../../node/cli.ts'
import { readIdentityFile, readPeersFile } from '../../node/files.ts'
import { decodeCapture } from './decode-capture.ts'
import { clockText, describeEvent, shortPeer } from './describe.ts'
import { startLiveMonitor } from './live.ts'
import type { Readable } from 'node:stream'

const env = process.env
const usage = `Usage: npm run --silent decode -- [options]

Prints P2P Prolog traffic for humans: udp_broadcast datagrams and CBOR events (docs/wire.md).

From a capture (classic pcap or pcapng, as tcpdump -w writes it):
  sudo tcpdump -i lo -U -w - udp port 9999 | npm run --silent decode
  npm run --silent decode -- --read capture.pcap
Live from the network, as a listening member (gossipsub is encrypted, so no capture shows it):
  npm run --silent decode -- --live

Options (environment variable in brackets):
  -r, --read FILE     a capture file; - or none: standard input
  --port N            only datagrams to or from UDP port N (default: every UDP datagram)
  --live              join the network and print every event on its topic
  --identity FILE     for --live: the deployment identity [IDENTITY_FILE] (default .identity.json)
  --peers FILE        for --live: where the signallers are [PEERS_FILE] (default .peers.json)
  -h, --help          this text

Each line: capture time, source > destination, then what the datagram holds; a datagram that is
not ours, or is refused, is shown as "skipped: why", and reading goes on.
`

runMain('decode', async () => {
  const args = parseCli({
    usage,
    options: {
      read: { type: 'string', short: 'r' },
      port: { type: 'string' },
      live: { type: 'boolean' },
      identity: { type: 'string' },
      peers: { type: 'string' }
    }
  })
  // `decode | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { process.exit(err.code === 'EPIPE' ? 0 : 1) })
  if (args.live === true) {
    await live(args.identity ?? env.IDENTITY_FILE ?? '.identity.json', args.peers ?? env.PEERS_FILE ?? '.peers.json')
    return
  }
  const port = args.port === undefined ? undefined : parsePort(args.port, '--port', 0)
  const file = args.read ?? '-'
  if (file === '-' && process.stdin.isTTY === true) {
    throw new UsageError('nothing to read: pipe a capture in (tcpdump -i lo -U -w - udp port 9999 | npm run --silent decode), give --read FILE, or use --live')
  }
  const input: Readable = file === '-' ? process.stdin : createReadStream(file)
  input.on('error', (err) => { process.stderr.write(`decode: cannot read ${file}: ${err.message}\n`); process.exit(1) })
  const { summary, format } = await decodeCapture(input, port)
  process.stderr.write(`decode: ${summary}\n`)
  if (format === undefined) throw new Error('no capture was read: give it what tcpdump -w writes (classic pcap or pcapng)')
})

async function live (identityFile: string, peersFile: string): Promise<void> {
  const identity = await readIdentityFile(identityFile)
  const peers = await readPeersFile(peersFile)
  const note = (text: string): void => { process.stderr.write(`decode: ${text}\n`) }
  const monitor = await startLiveMonitor({
    identity,
    peers,
    onNote: note,
    onBatch: (batch) => {
      const time = clockText(Date.now())
      for (const event of batch.events) process.stdout.write(`${time} ${describeEvent(event)}\n`)
    }
  })
  note(`listening to ${monitor.topic} as ${shortPeer(monitor.peerId)} (publishes nothing); Ctrl+C stops`)
  const stop = (): void => {
    note(`counters: ${JSON.stringify(monitor.counters)}`)
    monitor.stop().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
