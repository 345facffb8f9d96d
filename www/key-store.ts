/**
 * What makes a page the same peer across reloads: its libp2p key (Ed25519, in localStorage,
 * protobuf-encoded as @libp2p/crypto writes keys) and the name of its event store (IndexedDB).
 *
 * The tabs of one browser profile share both storages, and two tabs must not be one peer (one id
 * twice in the network, two writers on one store). So each tab claims a numbered *slot* with the
 * Web Locks API and holds it for its life: the slot it had before in this tab (sessionStorage
 * survives a reload; the old document's lock goes as it unloads, so it is waited for a moment),
 * else the lowest slot no other tab holds. Slot 0 is the first tab's, slot 1 a second tab's, each
 * with its own key and store: a reloaded tab keeps its id and its knowledge, a second tab is a
 * second peer. Without Web Locks (an insecure context) every tab takes slot 0.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export interface PeerSlot {
  slot: number
  privateKey: PrivateKey
  /** The event store's database name for this slot and network. */
  store: string
  /** Frees the slot (also freed when the page goes away). */
  release (): void
}

export interface SlotInit {
  network: string
  /** Prefix of the localStorage, sessionStorage, lock and database names. @default 'p2p-prolog' */
  prefix?: string
  /** Slots tried before giving up. @default 64 */
  maxSlots?: number
}

/** How long a reloaded tab waits for its previous document to let go of its slot. */
const RECLAIM_MS = 2_000

export async function claimSlot (init: SlotInit): Promise<PeerSlot> {
  const prefix = init.prefix ?? 'p2p-prolog'
  const maxSlots = init.maxSlots ?? 64
  const remembered = `${prefix}/slot`
  const claimed = await claim(prefix, maxSlots, Number.parseInt(sessionStorage.getItem(remembered) ?? '', 10))
  sessionStorage.setItem(remembered, String(claimed.slot))
  return {
    slot: claimed.slot,
    privateKey: await loadKey(`${prefix}/key/${claimed.slot}`),
    store: `${prefix}/${init.network}/${claimed.slot}/events`,
    release: claimed.release
  }
}

async function claim (prefix: string, maxSlots: number, previous: number): Promise<{ slot: number, release: () => void }> {
  if (typeof navigator.locks?.request !== 'function') return { slot: 0, release: () => {} }
  const lockName = (slot: number): string => `${prefix}/slot/${slot}`
  if (Number.isInteger(previous) && previous >= 0 && previous < maxSlots) {
    const release = await lock(lockName(previous), AbortSignal.timeout(RECLAIM_MS))
    if (release !== undefined) return { slot: previous, release }
  }
  for (let slot = 0; slot < maxSlots; slot++) {
    const release = await lock(lockName(slot))
    if (release !== undefined) return { slot, release }
  }
  throw new Error(`${maxSlots} tabs of this page are open already: close one`)
}

/** Holds the lock until the returned function is called; undefined when it is held elsewhere (or not got in time). */
async function lock (name: string, wait?: AbortSignal): Promise<(() => void) | undefined> {
  return await new Promise(resolve => {
    let release = (): void => {}
    const held = new Promise<void>(resolve => { release = resolve })
    const options: LockOptions = wait === undefined ? { ifAvailable: true } : { signal: wait }
    navigator.locks.request(name, options, async (granted) => {
      if (granted === null) return resolve(undefined)
      resolve(release)
      await held
    }).catch(() => { resolve(undefined) })
  })
}

async function loadKey (item: string): Promise<PrivateKey> {
  const stored = localStorage.getItem(item)
  if (stored !== null) {
    try {
      return privateKeyFromProtobuf(Uint8Array.from(atob(stored), c => c.charCodeAt(0)))
    } catch (err) {
      console.warn(`the key kept in localStorage ${item} cannot be read (${(err as Error).message}): this page takes a new one, and a new peer id`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  localStorage.setItem(item, btoa(String.fromCharCode(...privateKeyToProtobuf(key))))
  return key
}
