/**
 * `npm run signaller -- [options]`: the relay service. See `--help`.
 */
import '../node/node20.ts'
import { mkdir, readFile } from 'node:fs/promises'
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { parseCli, parsePort, runMain, UsageError } from '../node/cli.ts'
import { readIdentityFile } from '../node/files.ts'
import { createLog, isLogLevel } from '../node/log.ts'
import { startStatusServer } from '../node/status-server.ts'
import { createSignaller, SIGNALLER_DEFAULTS } from './signaller.ts'
import type { Signaller } from './signaller.ts'
import type { Log } from '../node/log.ts'

const env = process.env
const usage = `Usage: npm run signaller -- [options]

The P2P Prolog signaller: WebSockets (wss with a certificate), circuit relay v2, gossipsub hub.

Options (environment variable in brackets):
  --identity FILE     the deployment identity [IDENTITY_FILE] (default .identity.json)
  --host ADDR         address to listen on [HOST] (default ${SIGNALLER_DEFAULTS.host})
  --port N            WebSocket port [PORT] (default ${SIGNALLER_DEFAULTS.port})
  --http-port N       /healthz and /metrics port, 0 for none [HTTP_PORT] (default 9998)
  --cert FILE         TLS certificate (PEM): listen on wss [CERT_FILE]
  --key FILE          TLS private key (PEM) [KEY_FILE]
  --data-dir DIR      where the replica of the shared knowledge is kept [DATA_DIR] (default data/signaller)
  --domain NAME       announce /dns4/NAME/tcp/PORT/ws(s) [DOMAIN]
  --log-level LEVEL   error, warn, info or debug [LOG_LEVEL] (default info)
  -h, --help          this text

Signals: SIGUSR1 prints the connected peers and the topic mesh; SIGTERM/SIGINT stop.
`

runMain('signaller', async () => {
  const args = parseCli({
    usage,
    options: {
      identity: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'http-port': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      domain: { type: 'string' },
      'data-dir': { type: 'string' },
      'log-level': { type: 'string' }
    }
  })
  const level = args['log-level'] ?? env.LOG_LEVEL ?? 'info'
  if (!isLogLevel(level)) throw new UsageError(`--log-level must be error, warn, info or debug, not ${JSON.stringify(level)}`)
  const log = createLog('signaller', level)
  const port = parsePort(args.port ?? env.PORT, '--port', SIGNALLER_DEFAULTS.port)
  const httpPort = parsePort(args['http-port'] ?? env.HTTP_PORT, '--http-port', 9998)
  const host = args.host ?? env.HOST ?? SIGNALLER_DEFAULTS.host
  const tls = await readTls(args.cert ?? env.CERT_FILE, args.key ?? env.KEY_FILE)
  const domain = args.domain ?? env.DOMAIN
  const identity = await readIdentityFile(args.identity ?? env.IDENTITY_FILE ?? '.identity.json')

  const dataDir = args['data-dir'] ?? env.DATA_DIR ?? 'data/signaller'
  await mkdir(dataDir, { recursive: true }).catch((err: Error) => { throw new UsageError(`cannot create --data-dir ${dataDir}: ${err.message}`) })
  const signaller = await createSignaller({
    identity,
    dataDir,
    host,
    port,
    tls,
    announce: domain === undefined ? undefined : [`/dns4/${domain}/tcp/${port}/${tls === undefined ? 'ws' : 'wss'}`]
  }).catch((err: Error) => {
    if (err.name === 'StoreError') throw err
    throw new Error(`cannot listen on ${host}:${port}: ${err.message} (is another signaller running? choose --port)`)
  })
  logPeers(signaller, log)
  for (const address of signaller.libp2p.getMultiaddrs()) log.info(`listening on ${address.toString()}`)
  if (httpPort !== 0) {
    await startStatusServer({ host, port: httpPort, registry: metricsOf(signaller), health: () => healthOf(signaller) })
    log.info(`status on http://${host}:${httpPort}/healthz and /metrics`)
  }
  process.on('SIGUSR1', () => { process.stdout.write(describe(signaller)) })
  const stop = (): void => {
    log.info('stopping')
    signaller.stop().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
})

async function readTls (certFile: string | undefined, keyFile: string | undefined): Promise<{ cert: string, key: string } | undefined> {
  if (certFile === undefined && keyFile === undefined) return undefined
  if (certFile === undefined || keyFile === undefined) throw new UsageError('--cert and --key (CERT_FILE and KEY_FILE) go together')
  const read = async (file: string): Promise<string> => readFile(file, 'utf8').catch((err: Error) => {
    throw new UsageError(`cannot read ${file}: ${err.message}`)
  })
  return { cert: await read(certFile), key: await read(keyFile) }
}

function logPeers (signaller: Signaller, log: Log): void {
  signaller.libp2p.addEventListener('peer:connect', (evt) => {
    const address = signaller.libp2p.getConnections(evt.detail)[0]?.remoteAddr.toString() ?? '?'
    log.info(`peer connected ${evt.detail.toString()} from ${address}`)
  })
  signaller.libp2p.addEventListener('peer:disconnect', (evt) => {
    log.info(`peer disconnected ${evt.detail.toString()}`)
  })
}

function healthOf (signaller: Signaller): { healthy: boolean } & Record<string, unknown> {
  return {
    healthy: signaller.libp2p.status === 'started',
    peerId: signaller.libp2p.peerId.toString(),
    peers: signaller.libp2p.getPeers().length,
    subscribers: signaller.libp2p.services.pubsub.getSubscribers(signaller.topic).length,
    kb: signaller.knowledge.summary(),
    sync: signaller.sync.counters
  }
}

function metricsOf (signaller: Signaller): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'signaller_' })
  const gauge = (name: string, help: string, read: () => number): void => {
    registry.registerMetric(new Gauge({ name, help, registers: [], collect () { this.set(read()) } }))
  }
  const { libp2p, topic, channel } = signaller
  gauge('signaller_peers', 'connected peers', () => libp2p.getPeers().length)
  gauge('signaller_connections', 'open connections', () => libp2p.getConnections().length)
  gauge('signaller_topic_subscribers', 'peers subscribed to the event topic', () => libp2p.services.pubsub.getSubscribers(topic).length)
  gauge('signaller_topic_mesh_peers', 'peers in the gossipsub mesh of the event topic', () => meshOf(signaller).length)
  registry.registerMetric(new Gauge({
    name: 'signaller_channel_total',
    help: 'event channel counters: batches and events in, refused by reason',
    labelNames: ['counter'],
    registers: [],
    collect () {
      for (const [counter, value] of Object.entries(channel.counters)) this.set({ counter }, value)
    }
  }))
  return registry
}

function meshOf (signaller: Signaller): string[] {
  // getMeshPeers is on the GossipSub class, not on the interface libp2p's types expose.
  const pubsub = signaller.libp2p.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }
  return pubsub.getMeshPeers(signaller.topic)
}

function describe (signaller: Signaller): string {
  const { libp2p, topic } = signaller
  const lines = [`peer id ${libp2p.peerId.toString()}`, `peers (${libp2p.getPeers().length}):`]
  for (const connection of libp2p.getConnections()) {
    lines.push(`  ${connection.remotePeer.toString()} ${connection.remoteAddr.toString()} ${connection.direction}`)
  }
  const mesh = meshOf(signaller)
  lines.push(`topic ${topic}: ${libp2p.services.pubsub.getSubscribers(topic).length} subscribers, mesh (${mesh.length}):`)
  for (const peer of mesh) lines.push(`  ${peer}`)
  return lines.join('\n') + '\n'
}
