/**
 * The signaller on wss when given a certificate (CERT_FILE and KEY_FILE), and a node peer that
 * trusts that certificate reaching it. The certificate is self-signed, made here with openssl.
 */
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { freePort, getJson, makeDeployment, startTs } from '../support/processes.ts'

it('listens on wss with CERT_FILE and KEY_FILE, and a node peer connects over TLS', async () => {
  const port = await freePort()
  const http = await freePort()
  const deployment = await makeDeployment(port)
  const cert = join(deployment.dir, 'cert.pem')
  const key = join(deployment.dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  await writeFile(deployment.peers, JSON.stringify({ signallers: [`/ip4/127.0.0.1/tcp/${port}/wss/p2p/${deployment.signallerId}`] }))

  const signaller = startTs('signaller', 'signaller/main.ts', ['--identity', deployment.identity, '--data-dir', `${deployment.dir}/signaller`, '--host', '127.0.0.1', '--port', String(port), '--http-port', String(http)],
    { env: { CERT_FILE: cert, KEY_FILE: key } })
  await signaller.waitFor(new RegExp(`listening on /ip4/127\\.0\\.0\\.1/tcp/${port}/(tls/ws|wss)/p2p/`))
  const peer = startTs('node-peer', 'node-peer/main.ts', ['--identity', deployment.identity, '--peers', deployment.peers, '--port', '0', '--data-dir', join(deployment.dir, 'data')],
    { env: { NODE_EXTRA_CA_CERTS: cert } })
  await signaller.waitFor(/peer connected 12D3KooW/, { timeout: 60_000 })
  expect((await getJson(`http://127.0.0.1:${http}/healthz`)).peers).toBe(1)
  await peer.stop()
  await signaller.stop()
})
