/**
 * The web app's server, as the `www` container runs it: serves the built page (srv/www, with the
 * p2p-config.json that bootstrap wrote) over plain HTTP. Run it with Node's own type stripping
 * (Node 22.18 or newer: `node scripts/www-server.ts`), so that its image needs no node_modules.
 * Put TLS in front of it (a reverse proxy) where the page is public: see docs/deployment.md.
 */
import { resolve } from 'node:path'
import { parseCli, parsePort, runMain } from '../node/cli.ts'
import { serveStatic } from '../node/static-server.ts'

const env = process.env
const usage = `Usage: node scripts/www-server.ts [options]

Serves the built web app (npm run build:www, or sh bootstrap.sh) over HTTP.

Options (environment variable in brackets):
  --root DIR    the built app [WWW_ROOT] (default srv/www)
  --host ADDR   address to listen on [HOST] (default 127.0.0.1; the container uses 0.0.0.0)
  --port N      [PORT] (default 8080)
  -h, --help    this text
`

runMain('www-server', async () => {
  const args = parseCli({ usage, options: { root: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } } })
  const root = resolve(args.root ?? env.WWW_ROOT ?? 'srv/www')
  const host = args.host ?? env.HOST ?? '127.0.0.1'
  const port = parsePort(args.port ?? env.PORT, '--port', 8080)
  const server = await serveStatic(root, port, { host }).catch((err: Error) => {
    throw new Error(`cannot listen on ${host}:${port}: ${err.message} (is another server on that port? choose --port)`)
  })
  process.stdout.write(`serving ${root} on http://${host}:${port}/\n`)
  const stop = (): void => { server.close().then(() => process.exit(0), () => process.exit(1)) }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
})
