/**
 * The web app for the browser tests: `npm run build:www` (Parcel) into srv/www, once per test
 * process, with its progress on stderr and its output in the error when it fails.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from './processes.ts'

export const WWW_DIST = join(ROOT, 'srv', 'www')

let built: Promise<void> | undefined

export async function buildWww (): Promise<void> {
  built ??= build()
  await built
}

async function build (): Promise<void> {
  const started = Date.now()
  process.stderr.write('browser tests: building the web app (npm run build:www -- --no-cache)…\n')
  // --no-cache: Parcel's cache misses a file changed while a build was reading it (its snapshot
  // is taken after the build), and a test must test the sources as they are; a cold build costs
  // about a second more.
  const child = spawn('npm', ['run', '--silent', 'build:www', '--', '--no-cache'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_update_notifier: 'false' }
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', resolve)
  })
  if (code !== 0) throw new Error(`npm run build:www failed (exit code ${code}):\n${output}`)
  process.stderr.write(`browser tests: web app built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
}
