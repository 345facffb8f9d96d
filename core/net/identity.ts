/**
 * The deployment's one identity and the libp2p keys derived from it.
 *
 * `.identity.json` holds a network name and a 32-byte secret. Each server role (the signaller,
 * each named node peer) gets an Ed25519 key derived from it with HKDF-SHA256, so the peer id of
 * every server is known before anything runs and can be written into the public peers file.
 * WebCrypto only: this module runs in Node and in browsers (browsers never see the secret, but
 * they do use `networkTopic`).
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'

export interface Identity {
  /** Names the network: peers of different networks never share a topic. */
  readonly network: string
  /** 32 random bytes, base64url in the file. The deployment secret. */
  readonly secret: Uint8Array
}

/** The roles whose keys are derived. A node peer's role includes its name. */
export type Role = 'signaller' | `node-peer/${string}`

export class InvalidIdentityError extends Error {
  static override name = 'InvalidIdentityError'
  override name = 'InvalidIdentityError'
}

const SECRET_BYTES = 32
export const NETWORK_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/

export function createIdentity (network: string, secret = crypto.getRandomValues(new Uint8Array(SECRET_BYTES))): Identity {
  return validateIdentity({ network, secret })
}

export function validateIdentity (identity: Identity): Identity {
  if (!NETWORK_NAME.test(identity.network)) {
    throw new InvalidIdentityError(`network name ${JSON.stringify(identity.network)} must match ${String(NETWORK_NAME)}`)
  }
  if (identity.secret.length !== SECRET_BYTES) {
    throw new InvalidIdentityError(`the identity secret must be ${SECRET_BYTES} bytes, not ${identity.secret.length}`)
  }
  return identity
}

/** The JSON form of `.identity.json`. */
export function identityToJson (identity: Identity): { network: string, secret: string } {
  return { network: identity.network, secret: toBase64Url(identity.secret) }
}

export function identityFromJson (json: unknown): Identity {
  if (typeof json !== 'object' || json === null) throw new InvalidIdentityError('the identity must be a JSON object')
  const { network, secret } = json as Record<string, unknown>
  if (typeof network !== 'string' || typeof secret !== 'string') {
    throw new InvalidIdentityError('the identity needs "network" and "secret" strings')
  }
  return validateIdentity({ network, secret: fromBase64Url(secret) })
}

/** The libp2p key of a role: the same identity and role always give the same key. */
export async function deriveKey (identity: Identity, role: Role): Promise<Ed25519PrivateKey> {
  const material = await crypto.subtle.importKey('raw', new Uint8Array(identity.secret), 'HKDF', false, ['deriveBits'])
  const seed = await crypto.subtle.deriveBits({
    name: 'HKDF',
    hash: 'SHA-256',
    salt: utf8(`p2p-prolog/${identity.network}`),
    info: utf8(role)
  }, material, 256)
  return generateKeyPairFromSeed('Ed25519', new Uint8Array(seed))
}

export async function derivePeerId (identity: Identity, role: Role): Promise<PeerId> {
  return peerIdFromPrivateKey(await deriveKey(identity, role))
}

function utf8 (text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text)
}

function toBase64Url (bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

function fromBase64Url (text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new InvalidIdentityError('the identity secret is not base64url')
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  return Uint8Array.from(binary, c => c.charCodeAt(0))
}
