/**
 * `npm run build:www` runs this after Parcel: writes srv/www/p2p-config.json, what the page needs
 * to join the network: the network's name from .identity.json (never its secret) and the
 * signallers of .peers.json. See www/web-config.ts for the format.
 *
 * Options: --identity FILE (.identity.json), --peers FILE (.peers.json), --out FILE
 * (srv/www/p2p-config.json), --ice-servers JSON; environment IDENTITY_FILE, PEERS_FILE,
 * ICE_SERVERS too.
 */
import '../node/node20.ts'
import { access, writeFile } from 'node:fs/promises'
import { parseCli, runMain, UsageError } from '../node/cli.ts'
import { readIdentityFile, readPeersFile } from '../node/files.ts'
import { webConfigFromJson, webConfigToJson } from '../www/web-config.ts'

const usage = `Usage: npm run build:www   (or: node --import tsx scripts/web-config.ts [options])

Writes the web page's network settings (network name, signallers) next to the built page.

Options:
  --identity FILE   [IDENTITY_FILE] (default .identity.json); only its network name is used
  --peers FILE      [PEERS_FILE] (default .peers.json)
  --out FILE        (default srv/www/p2p-config.json)
  --ice-servers JSON  [ICE_SERVERS] STUN/TURN servers for WebRTC between browsers on different
                    networks, a JSON list of RTCIceServer objects, e.g.
                    '[{"urls":"stun:stun.example.org:3478"}]' (default none: one host or LAN)
`

runMain('web-config', async () => {
  const args = parseCli({
    usage,
    options: {
      identity: { type: 'string' },
      peers: { type: 'string' },
      out: { type: 'string' },
      'ice-servers': { type: 'string' }
    }
  })
  const identityFile = args.identity ?? process.env.IDENTITY_FILE ?? '.identity.json'
  const peersFile = args.peers ?? process.env.PEERS_FILE ?? '.peers.json'
  const out = args.out ?? 'srv/www/p2p-config.json'
  for (const file of [identityFile, peersFile]) {
    if (!await access(file).then(() => true, () => false)) {
      throw new UsageError(`${file} not found: run \`npm run identity\` first (or \`npm start\` once), which writes .identity.json and .peers.json; then npm run build:www again`)
    }
  }
  const { network } = await readIdentityFile(identityFile)
  const { signallers } = await readPeersFile(peersFile)
  const iceServers = parseIceServers(args['ice-servers'] ?? process.env.ICE_SERVERS)
  await writeFile(out, JSON.stringify(webConfigToJson({ network, signallers, iceServers }), null, 2) + '\n')
  process.stdout.write(`wrote ${out}: network ${network}, signallers ${signallers.map(String).join(', ')}${iceServers.length === 0 ? '' : `, ${iceServers.length} ICE server(s)`}\n`)
})

function parseIceServers (text: string | undefined): RTCIceServer[] {
  if (text === undefined || text.trim() === '') return []
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new UsageError(`--ice-servers must be JSON (${(err as Error).message})`)
  }
  try {
    return webConfigFromJson({ network: 'check', signallers: [], iceServers: json }).iceServers
  } catch (err) {
    throw new UsageError(`--ice-servers: ${(err as Error).message.replace(/^[^:]*: /, '')}`)
  }
}
