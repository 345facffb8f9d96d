/**
 * `npm start`: the whole network on this machine, without Docker: a signaller on port 9999, a
 * node peer bridging 239.0.0.2:9999 on the loopback interface, and the web page (built with
 * Parcel into srv/www) served on http://localhost:8080/. Writes the identity first if there is
 * none. Options after `--` go to the node peer (`npm start -- --consult shared.pl`). Output of
 * each program is prefixed with its name; Ctrl+C stops them all.
 */
import { spawn } from 'node:child_process'
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveStatic } from '../node/static-server.ts'
import type { ChildProcess } from 'node:child_process'

const root = fileURLToPath(new URL('..', import.meta.url))
const WWW_PORT = 8080
const children: ChildProcess[] = []
let stopping = false

/** Runs `script` with Node: a bundled .js as it is, TypeScript through tsx. */
function run (name: string, script: string, args: string[] = []): ChildProcess {
  const program = script.endsWith('.js') ? [script] : ['--import', 'tsx', script]
  const child = spawn(process.execPath, [...program, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const prefix = (stream: NodeJS.WritableStream) => (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) if (line !== '') stream.write(`[${name}] ${line}\n`)
  }
  child.stdout.on('data', prefix(process.stdout))
  child.stderr.on('data', prefix(process.stderr))
  children.push(child)
  return child
}

async function exited (child: ChildProcess): Promise<number> {
  return new Promise(resolve => child.once('exit', code => { resolve(code ?? 1) }))
}

const hasIdentity = await access(new URL('../.identity.json', import.meta.url)).then(() => true, () => false)
if (!hasIdentity && await exited(run('identity', 'scripts/identity.ts')) !== 0) process.exit(1)

process.stdout.write('bundling the signaller and the node peer (npm run build:node)…\n')
if (await exited(spawn('npm', ['run', '--silent', 'build:node'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })) !== 0) {
  process.stderr.write('the signaller and the node peer did not build: see above\n')
  process.exit(1)
}

for (const [name, script] of [['signaller', 'dist/signaller/main.js'], ['node-peer', 'dist/node-peer/main.js']]) {
  // Options given to npm start go to the node peer: `npm start -- --consult shared.pl`.
  const child = run(name, script, name === 'node-peer' ? ['--http-port', '9997', ...process.argv.slice(2)] : [])
  void exited(child).then((code) => {
    if (stopping) return
    process.stderr.write(`${name} exited with code ${code}; stopping the rest\n`)
    stop()
  })
}
process.stdout.write('P2P Prolog is starting: signaller ws://localhost:9999 (status http://localhost:9998/healthz), node peer on udp 239.0.0.2:9999 (status http://localhost:9997/healthz). Ctrl+C stops.\n')

process.stdout.write('[www] building the web page (npm run build:www)…\n')
const build = spawn('npm', ['run', '--silent', 'build:www'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
if (await exited(build) !== 0) {
  process.stderr.write('[www] the web page did not build: see above; the signaller and the node peer keep running\n')
} else {
  await serveStatic(join(root, 'srv', 'www'), WWW_PORT)
  process.stdout.write(`[www] open http://localhost:${WWW_PORT}/ (two tabs make two peers)\n`)
}

function stop (): void {
  stopping = true
  for (const child of children) child.kill('SIGTERM')
  setTimeout(() => process.exit(0), 3000).unref()
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
