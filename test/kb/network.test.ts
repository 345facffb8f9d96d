/**
 * Replicas converge over a lossy, duplicating, reordering network once they repair with
 * missing(vector()): hundreds of seeded runs of TestNetwork.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { eventIdHex } from '../../core/wire/event.ts'
import { snapshot } from './support.ts'
import { TestNetwork } from './test-network.ts'

describe('TestNetwork', () => {
  it('replicas converge after repair, whatever the network did', () => {
    const totals = new Map<string, number>()
    let runsWithGaps = 0
    fc.assert(fc.property(fc.integer(), fc.integer({ min: 50, max: 400 }), (seed, steps) => {
      const network = new TestNetwork(seed)
      const why = `TestNetwork(${seed}), ${steps} steps`
      network.run(steps)
      if (network.peers.some(peer => peer.replica.gaps().length > 0)) runsWithGaps++
      network.repair()
      network.flush()
      const [first, ...others] = network.peers
      for (const peer of others) expect(snapshot(peer.replica), `${why}: ${peer.origin}`).toEqual(snapshot(first.replica))
      expect(first.replica.gaps(), why).toEqual([])
      expect(first.replica.vector(), why).toEqual(network.expectedVector())
      expect(first.replica.clauses().map(c => eventIdHex(c.id)).sort(), why).toEqual(network.expectedClauseIds())
      for (const peer of network.peers) {
        const engine = new Map(peer.replica.clauses().map(c => [eventIdHex(c.id), c.clause]))
        expect(peer.materialised, `${why}: what ${peer.origin}'s ops built`).toEqual(engine)
      }
      for (const [outcome, n] of network.outcomes) totals.set(outcome, (totals.get(outcome) ?? 0) + n)
    }), { numRuns: 300 })
    // Only the transient refusal happens among honest peers; the runs exercised what they are for.
    expect([...totals.keys()].sort()).toEqual(['applied', 'clock-ahead', 'duplicate'])
    expect(runsWithGaps).toBeGreaterThan(100)
  })
})
