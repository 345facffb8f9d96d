/**
 * The HTTP side door of a Node program: `GET /healthz` (JSON, 200 when healthy, 503 when not)
 * and `GET /metrics` (Prometheus text, from a prom-client registry).
 */
import { createServer } from 'node:http'
import type { Registry } from 'prom-client'
import type { Server } from 'node:http'

export interface StatusServerInit {
  host: string
  port: number
  registry: Registry
  /** What `/healthz` reports; `healthy: false` answers 503. */
  health: () => { healthy: boolean } & Record<string, unknown>
}

export async function startStatusServer (init: StatusServerInit): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET') {
      res.writeHead(405).end()
    } else if (path === '/healthz') {
      const health = init.health()
      res.writeHead(health.healthy ? 200 : 503, { 'content-type': 'application/json' })
      res.end(JSON.stringify(health) + '\n')
    } else if (path === '/metrics') {
      init.registry.metrics().then(text => {
        res.writeHead(200, { 'content-type': init.registry.contentType }).end(text)
      }, (err: Error) => {
        res.writeHead(500).end(err.message)
      })
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /healthz or /metrics\n')
    }
  })
  // Longer than clients keep an idle connection (fetch: 4 s), so that a client never sends on a
  // connection the server has just closed (ECONNRESET), which a busy machine makes likely.
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => { server.off('error', reject); resolve() })
  })
  return server
}
