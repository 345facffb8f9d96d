/**
 * The web app for the browser tests, built once per test run with Parcel (as `npm run build:page`
 * does, with --no-cache: Parcel's cache misses a file changed while a build was reading it, and a
 * test must test the sources as they are; a cold build costs a few seconds more).
 *
 * Each vitest worker is a process of its own, and several test files need the app: the first one
 * builds it under a lock (a directory, made atomically), the others wait for it. Each run builds
 * into a folder of its own, srv/www-test/<pid of the vitest process>, so that two runs at once
 * (two developers in one tree) do not replace the files the other is serving; folders of runs
 * that ended are removed.
 *
 * The build holds an offline `p2p-config.json` (a network with no signaller): a test that needs a
 * network serves its own in its place (static-server.ts `files`).
 */
import { spawn } from 'node:child_process'
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ROOT } from './processes.ts'

const RUN = String(process.ppid)
export const WWW_DIST = join(ROOT, 'srv', 'www-test', RUN)
const LOCK = `${WWW_DIST}.lock`
const COMPLETE = join(WWW_DIST, '.complete')
const WAIT_MS = 240_000

/** The config the build holds: no signaller, the page is alone. */
export const OFFLINE_CONFIG = { network: 'offline-test', signallers: [] }

let built: Promise<void> | undefined

export async function buildWww (): Promise<void> {
  built ??= buildOnce()
  await built
}

async function buildOnce (): Promise<void> {
  await mkdir(dirname(WWW_DIST), { recursive: true })
  const deadline = Date.now() + WAIT_MS
  while (true) {
    if (await exists(COMPLETE)) return
    if (Date.now() > deadline) throw new Error(`the web app was not built within ${WAIT_MS} ms: is ${LOCK} left from a dead build? remove it`)
    try {
      await mkdir(LOCK)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = Number(await readFile(join(LOCK, 'pid'), 'utf8').catch(() => ''))
      if (owner > 0 && !alive(owner)) await rm(LOCK, { recursive: true, force: true })
      else await new Promise(resolve => setTimeout(resolve, 250))
      continue
    }
    try {
      await writeFile(join(LOCK, 'pid'), String(process.pid))
      if (await exists(COMPLETE)) return
      await removeEndedRuns()
      await build()
      await writeFile(join(WWW_DIST, 'p2p-config.json'), JSON.stringify(OFFLINE_CONFIG))
      await writeFile(COMPLETE, '')
      return
    } finally {
      await rm(LOCK, { recursive: true, force: true })
    }
  }
}

async function build (): Promise<void> {
  const started = Date.now()
  process.stderr.write(`browser tests: building the web app into ${WWW_DIST} (parcel build --no-cache)…\n`)
  await rm(WWW_DIST, { recursive: true, force: true })
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'parcel'), [
    'build', 'www/index.html', '--dist-dir', WWW_DIST, '--public-url', './', '--no-autoinstall', '--no-cache'
  ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', resolve)
  })
  if (code !== 0) throw new Error(`parcel build failed (exit code ${code}):\n${output}`)
  process.stderr.write(`browser tests: web app built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
}

/** Removes the builds (and stale locks) of test runs whose vitest process is gone. */
async function removeEndedRuns (): Promise<void> {
  const parent = dirname(WWW_DIST)
  for (const name of await readdir(parent)) {
    const pid = Number.parseInt(name, 10)
    if (name.startsWith(RUN) && (name === RUN || name === `${RUN}.lock`)) continue
    if (Number.isInteger(pid) && !alive(pid)) await rm(join(parent, name), { recursive: true, force: true })
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}
