/**
 * A digest of a set of ids that is kept up to date as ids come and go, in O(1) a change: the XOR
 * of a 64-bit hash of each id. XOR does not depend on order, so two replicas that hold the same
 * ids have the same digest whatever order they arrived in; a set differs from another in at
 * least one id, whose hash would have to be cancelled by the others' (1 in 2^64 for ids that are
 * not made to collide). It tells sets apart for tests and dashboards; it is no commitment an
 * adversary could not forge (ids come from the network, and the hash is not cryptographic).
 *
 * Toggling an id twice takes it out again, so the caller toggles each id exactly when it enters
 * and when it leaves the set.
 */
export class SetDigest {
  private high = 0
  private low = 0

  /** An id entered or left the set. */
  toggle (id: Uint8Array): void {
    let a = 0x811c9dc5 ^ id.length
    let b = 0x9e3779b9 ^ id.length
    for (let i = 0; i < id.length; i++) {
      a = Math.imul(a ^ id[i], 0x01000193) // FNV-1a
      b = Math.imul(b ^ id[i], 0x5bd1e995) // a murmur-style lane, independent of the first
      b ^= b >>> 15
    }
    this.high ^= mix(a)
    this.low ^= mix(b ^ a)
  }

  /** 16 hex digits; all zeros for the empty set. */
  toString (): string {
    return hex8(this.high) + hex8(this.low)
  }
}

/** murmur3's finaliser: every input bit moves every output bit. */
function mix (h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

function hex8 (n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}
