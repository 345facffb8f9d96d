/**
 * Reading and writing the deployment files, with errors that say what to do next.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { identityFromJson, identityToJson } from '../core/net/identity.ts'
import { peersFromJson, peersToJson } from '../core/net/peers.ts'
import type { Identity } from '../core/net/identity.ts'
import type { PeersFile } from '../core/net/peers.ts'

export class ConfigFileError extends Error {
  static override name = 'ConfigFileError'
  override name = 'ConfigFileError'
}

const MAKE_FILES = 'run `npm run identity` (or `sh bootstrap.sh`) to write .identity.json and .peers.json'

export async function readIdentityFile (path: string): Promise<Identity> {
  return identityFromJson(await readJson(path))
}

export async function readPeersFile (path: string): Promise<PeersFile> {
  return peersFromJson(await readJson(path))
}

/** Writes the secret identity readable by its owner only. */
export async function writeIdentityFile (path: string, identity: Identity, options: { force?: boolean } = {}): Promise<void> {
  const text = JSON.stringify(identityToJson(identity), null, 2) + '\n'
  try {
    await writeFile(path, text, { mode: 0o600, flag: options.force === true ? 'w' : 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigFileError(`${path} exists already; keep it, or pass --force to replace it (every peer id changes)`)
    }
    throw err
  }
}

export async function writePeersFile (path: string, peers: PeersFile): Promise<void> {
  await writeFile(path, JSON.stringify(peersToJson(peers), null, 2) + '\n')
}

async function readJson (path: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ConfigFileError(`${path} not found: ${MAKE_FILES}`)
    throw new ConfigFileError(`cannot read ${path}: ${(err as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ConfigFileError(`${path} is not valid JSON: ${(err as Error).message}`)
  }
}
