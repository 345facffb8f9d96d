/**
 * A static file server for a built web app (srv/www): GET and HEAD on 127.0.0.1 (or the `host`
 * given: a container publishes the port of 0.0.0.0), the types a
 * browser needs (application/wasm for WebAssembly's streaming compile), nothing outside `root`,
 * and files a test gives in place of those on disk.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join, normalize, sep } from 'node:path'
import type { Server } from 'node:http'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.pl': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon'
}

export interface StaticServer {
  url: string
  /** The paths served so far, with their status codes, oldest first. */
  requests: Array<{ path: string, status: number }>
  close: () => Promise<void>
}

export interface StaticServerOptions {
  /** Served instead of the files under `root`, by path (e.g. `'/p2p-config.json'`): a test's own config. */
  files?: Record<string, string>
  /** The address to listen on. @default '127.0.0.1' */
  host?: string
}

export async function serveStatic (root: string, port: number, options: StaticServerOptions = {}): Promise<StaticServer> {
  const requests: StaticServer['requests'] = []
  const files = options.files ?? {}
  const server: Server = createServer((req, res) => {
    const reply = (status: number, text: string): void => {
      requests.push({ path: req.url ?? '', status })
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n')
    let path: string
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname)
    } catch {
      return reply(400, 'bad path\n')
    }
    if (path.endsWith('/')) path += 'index.html'
    const given = Object.hasOwn(files, path) ? files[path] : undefined
    if (given !== undefined) {
      requests.push({ path, status: 200 })
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-cache' })
      return res.end(req.method === 'HEAD' ? undefined : given)
    }
    const file = normalize(join(root, path))
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) return reply(403, 'forbidden\n')
    stat(file).then((info) => {
      if (!info.isFile()) return reply(404, 'not found\n')
      requests.push({ path, status: 200 })
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': info.size,
        'cache-control': 'no-cache'
      })
      if (req.method === 'HEAD') return res.end()
      createReadStream(file).pipe(res)
    }, () => { reply(404, 'not found\n') })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, options.host ?? '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
