/**
 * `npm run identity -- [options]`: writes `.identity.json` (secret, mode 0600, never replaced
 * without --force) and `.peers.json` (public) naming the signaller by its derived peer id.
 */
import '../node/node20.ts'
import { access } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { createIdentity, derivePeerId } from '../core/net/identity.ts'
import { parseCli, parsePort, runMain } from '../node/cli.ts'
import { readIdentityFile, writeIdentityFile, writePeersFile } from '../node/files.ts'

const usage = `Usage: npm run identity -- [options]

Writes .identity.json (the deployment secret) unless it exists, and .peers.json for DOMAIN.

Options:
  --domain NAME      where the signaller is reached [DOMAIN] (default localhost)
  --port N           the signaller's WebSocket port (default 9999)
  --tls              the signaller speaks wss (a certificate is set up)
  --network NAME     the network's name for a new identity (default p2p-prolog)
  --identity FILE    (default .identity.json)
  --peers FILE       (default .peers.json)
  --force            replace an existing identity: every peer id changes
`

runMain('identity', async () => {
  const args = parseCli({
    usage,
    options: {
      domain: { type: 'string' },
      port: { type: 'string' },
      tls: { type: 'boolean' },
      network: { type: 'string' },
      identity: { type: 'string' },
      peers: { type: 'string' },
      force: { type: 'boolean' }
    }
  })
  const identityFile = args.identity ?? '.identity.json'
  const peersFile = args.peers ?? '.peers.json'
  const domain = args.domain ?? process.env.DOMAIN ?? 'localhost'
  const port = parsePort(args.port, '--port', 9999)
  const exists = await access(identityFile).then(() => true, () => false)
  if (!exists || args.force === true) {
    await writeIdentityFile(identityFile, createIdentity(args.network ?? 'p2p-prolog'), { force: args.force })
    process.stdout.write(`wrote ${identityFile} (secret: keep it out of version control)\n`)
  } else {
    process.stdout.write(`kept ${identityFile}\n`)
  }
  const identity = await readIdentityFile(identityFile)
  const signaller = await derivePeerId(identity, 'signaller')
  const host = /^[0-9.]+$/.test(domain) ? `ip4/${domain}` : `dns4/${domain}`
  const address = multiaddr(`/${host}/tcp/${port}/${args.tls === true ? 'wss' : 'ws'}/p2p/${signaller.toString()}`)
  await writePeersFile(peersFile, { signallers: [address], peers: [] })
  process.stdout.write(`wrote ${peersFile}: signaller ${address.toString()}\n`)
})
