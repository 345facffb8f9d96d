/**
 * `npm run node-peer -- [options]`: a Node.js member of the network with a UDP bridge. See `--help`.
 */
import '../node/node20.ts'
import { mkdir, readFile } from 'node:fs/promises'
import { isIPv4 } from 'node:net'
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { parseCli, parsePort, runMain, UsageError } from '../node/cli.ts'
import { readIdentityFile, readPeersFile } from '../node/files.ts'
import { createLog, isLogLevel } from '../node/log.ts'
import { startStatusServer } from '../node/status-server.ts'
import { createNodePeer } from './node-peer.ts'
import { UDP_BRIDGE_DEFAULTS } from './udp-bridge.ts'
import type { NodePeer } from './node-peer.ts'

const env = process.env
const usage = `Usage: npm run node-peer -- [options]

A P2P Prolog node peer: dials the signallers of the peers file, runs SWI-Prolog, and bridges a
UDP multicast group in SWI-Prolog's library(udp_broadcast) format, so that a stock swipl that ran
  udp_broadcast_initialize(ip(239,0,0,2), [method(multicast), port(9999), scope(s)])
is a member of the network.

Options (environment variable in brackets):
  --identity FILE        the deployment identity [IDENTITY_FILE] (default .identity.json)
  --peers FILE           where the signallers are [PEERS_FILE] (default .peers.json)
  --name NAME            this node peer's name; its key derives from it [NODE_NAME] (default default)
  --group ADDR           multicast group [UDP_GROUP] (default ${UDP_BRIDGE_DEFAULTS.group})
  --port N               UDP port of the group, 0 for no bridge [UDP_PORT] (default ${UDP_BRIDGE_DEFAULTS.port})
  --interface ADDR       interface address for the group [UDP_INTERFACE] (default ${UDP_BRIDGE_DEFAULTS.interface})
  --request-timeout MS   how long a request from the group collects answers (default ${UDP_BRIDGE_DEFAULTS.requestTimeout})
  --consult FILE         a Prolog program to load into this peer's engine, e.g. listen/2 handlers
  --send-rate N          datagrams per second the bridge sends at most (default ${UDP_BRIDGE_DEFAULTS.sendRate})
  --data-dir DIR         where this peer keeps its durable replica [DATA_DIR] (default data/NAME)
  --http-port N          /healthz and /metrics on 127.0.0.1, 0 for none [HTTP_PORT] (default 0)
  --log-level LEVEL      error, warn, info or debug [LOG_LEVEL] (default info)
  -h, --help             this text

Signals: SIGUSR1 prints the counters; SIGTERM/SIGINT stop.
`

runMain('node-peer', async () => {
  const args = parseCli({
    usage,
    options: {
      identity: { type: 'string' },
      peers: { type: 'string' },
      name: { type: 'string' },
      group: { type: 'string' },
      port: { type: 'string' },
      interface: { type: 'string' },
      'request-timeout': { type: 'string' },
      'send-rate': { type: 'string' },
      consult: { type: 'string' },
      'data-dir': { type: 'string' },
      'http-port': { type: 'string' },
      'log-level': { type: 'string' }
    }
  })
  const level = args['log-level'] ?? env.LOG_LEVEL ?? 'info'
  if (!isLogLevel(level)) throw new UsageError(`--log-level must be error, warn, info or debug, not ${JSON.stringify(level)}`)
  const name = args.name ?? env.NODE_NAME ?? 'default'
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new UsageError(`--name must be 1-64 letters, digits, '.', '_' or '-', not ${JSON.stringify(name)}`)
  const group = args.group ?? env.UDP_GROUP ?? UDP_BRIDGE_DEFAULTS.group
  if (!isMulticast(group)) throw new UsageError(`--group must be an IPv4 multicast address (224.0.0.0-239.255.255.255), not ${JSON.stringify(group)}`)
  const iface = args.interface ?? env.UDP_INTERFACE ?? UDP_BRIDGE_DEFAULTS.interface
  if (!isIPv4(iface)) throw new UsageError(`--interface must be an IPv4 address, not ${JSON.stringify(iface)}`)
  const udpPort = parsePort(args.port ?? env.UDP_PORT, '--port', UDP_BRIDGE_DEFAULTS.port)
  const httpPort = parsePort(args['http-port'] ?? env.HTTP_PORT, '--http-port', 0)
  const requestTimeout = parseWhole(args['request-timeout'], '--request-timeout', 1, 60_000, UDP_BRIDGE_DEFAULTS.requestTimeout)
  const sendRate = parseWhole(args['send-rate'], '--send-rate', 1, 1_000_000, UDP_BRIDGE_DEFAULTS.sendRate)
  const dataDir = args['data-dir'] ?? env.DATA_DIR ?? `data/${name}`
  const log = createLog(`node-peer ${name}`, level)
  const identity = await readIdentityFile(args.identity ?? env.IDENTITY_FILE ?? '.identity.json')
  const peers = await readPeersFile(args.peers ?? env.PEERS_FILE ?? '.peers.json')
  const program = args.consult === undefined
    ? undefined
    : { file: args.consult, text: await readFile(args.consult, 'utf8').catch((err: Error) => { throw new UsageError(`cannot read --consult ${args.consult}: ${err.message}`) }) }
  await mkdir(dataDir, { recursive: true }).catch((err: Error) => { throw new UsageError(`cannot create --data-dir ${dataDir}: ${err.message}`) })

  const node = await createNodePeer({
    identity,
    peers,
    name,
    log,
    dataDir,
    program,
    udp: udpPort === 0 ? false : { group, port: udpPort, interface: iface, requestTimeout, sendRate }
  })
  log.info(`peer id ${node.libp2p.peerId.toString()}`)
  if (node.bridge !== undefined) log.info(`bridging udp ${group}:${udpPort} on ${iface}`)
  if (httpPort !== 0) {
    await startStatusServer({ host: '127.0.0.1', port: httpPort, registry: metricsOf(node), health: () => healthOf(node) })
    log.info(`status on http://127.0.0.1:${httpPort}/healthz and /metrics`)
  }
  process.on('SIGUSR1', () => { process.stdout.write(JSON.stringify(healthOf(node), null, 2) + '\n') })
  const stop = (): void => {
    log.info('stopping')
    node.stop().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
})

function isMulticast (address: string): boolean {
  if (!isIPv4(address)) return false
  const first = Number(address.split('.')[0])
  return first >= 224 && first <= 239
}

function parseWhole (value: string | undefined, option: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${option} must be a whole number ${min}-${max}, not ${JSON.stringify(value)}`)
  return n
}

function healthOf (node: NodePeer): { healthy: boolean } & Record<string, unknown> {
  const signallers = node.libp2p.getPeers().length
  return {
    healthy: node.libp2p.status === 'started',
    peerId: node.libp2p.peerId.toString(),
    connectedPeers: signallers,
    channel: node.member.channel.counters,
    peer: node.member.peer.counters,
    kb: { ...node.member.knowledge.summary(), counters: node.member.knowledge.counters },
    sync: node.member.sync.counters,
    udp: node.bridge?.counters ?? {}
  }
}

function metricsOf (node: NodePeer): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'node_peer_' })
  const sources = { channel: node.member.channel.counters, peer: node.member.peer.counters, kb: node.member.knowledge.counters, sync: node.member.sync.counters, udp: node.bridge?.counters ?? {} }
  registry.registerMetric(new Gauge({
    name: 'node_peer_counter',
    help: 'counters of the event channel, the peer and the UDP bridge (refused_* by reason)',
    labelNames: ['source', 'counter'],
    registers: [],
    collect () {
      for (const [source, counters] of Object.entries(sources)) {
        for (const [counter, value] of Object.entries(counters)) this.set({ source, counter }, value)
      }
    }
  }))
  return registry
}
