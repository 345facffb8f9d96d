/**
 * A member of the network with an engine: what the node peer and the browser page have in common.
 * Given a libp2p node (with gossipsub), a store and a way to start the engine, it composes the
 * event channel, the replica of the shared knowledge, the peer (messages, requests, network
 * queries) and the sync protocol, and wires them to each other. No platform code: the programs
 * (node-peer/, www/) bring the transports, the engine's worker and the store's location.
 *
 * @example
 * ```ts
 * const member = await createMember({
 *   libp2p, network: identity.network, store: await openEventStore('data/events'),
 *   startEngine: hooks => createNodeEngine(hooks), log
 * })
 * member.peer.send({ atom: 'hello' })
 * ```
 */
import { createClock } from './kb/clock.ts'
import { Replica } from './kb/replica.ts'
import { createKnowledge } from './knowledge.ts'
import { eventTopic } from './net/constants.ts'
import { createEventChannel } from './net/event-channel.ts'
import { createSync, syncProtocol } from './net/sync.ts'
import { createPeer } from './peer.ts'
import type { Engine, EngineInit } from './engine/engine.ts'
import type { Knowledge } from './knowledge.ts'
import type { EventChannel } from './net/event-channel.ts'
import type { Sync } from './net/sync.ts'
import type { Peer } from './peer.ts'
import type { EventStore } from './store/event-store.ts'
import type { KbEvent } from './wire/event.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

/** The engine hooks a member sets; the program adds its own (onOutput, limits) and starts the engine. */
export type MemberEngineHooks = Required<Pick<EngineInit, 'onPublish' | 'onKbChange' | 'onNetworkQuery' | 'onRestart'>>

export interface MemberLog {
  warn (text: string): void
  error (text: string): void
}

export interface MemberInit {
  libp2p: Libp2p<{ pubsub: GossipSub }>
  /** The network's name (the identity's): it names the gossipsub topic and the sync protocol. */
  network: string
  /** Where accepted kb events are kept; the member closes it on stop. */
  store: EventStore
  startEngine: (hooks: MemberEngineHooks) => Promise<Engine>
  /** A program of the member's own, loaded (not sandboxed) once the stored knowledge is back. */
  program?: { file: string, text: string }
  log: MemberLog
  /** Kb events that the sync protocol brought and this replica lacked, once stored (the engine may still be applying them). */
  onCaughtUp?: (events: readonly KbEvent[]) => void
}

export interface Member {
  readonly origin: string
  readonly engine: Engine
  readonly channel: EventChannel
  readonly knowledge: Knowledge
  readonly peer: Peer
  readonly sync: Sync
  /** Stops sync, the channel and the engine and closes the store; the caller stops libp2p after. */
  stop (): Promise<void>
}

export async function createMember (init: MemberInit): Promise<Member> {
  const { libp2p, log, store } = init
  const origin = libp2p.peerId.toString()
  const channel = createEventChannel({ pubsub: libp2p.services.pubsub, peerId: libp2p.peerId }, { topic: eventTopic(init.network) })
  const replica = new Replica()
  const clock = createClock(Date.now)
  // The engine reports to the knowledge and the peer, which need the engine: bound once all exist.
  let peer: Peer | undefined
  let knowledge: Knowledge | undefined
  let sync: Sync | undefined
  // The engine boots (about a second) while the stored knowledge is read and the sync protocol
  // already takes events: what reaches the knowledge before the engine is up waits for it.
  const starting = init.startEngine({
    onPublish: (term) => { peer?.send(term) },
    onKbChange: (change) => { knowledge?.local(change) },
    onNetworkQuery: (goal, options) => peer?.query(goal, options) ?? [],
    onRestart: async (reason) => {
      log.warn(`engine restarted (${reason}); giving it the shared knowledge again`)
      await knowledge?.rematerialise()
    }
  })
  starting.catch(() => {}) // awaited below, after the replay; a failure must not count as unhandled before
  const known = createKnowledge({
    origin,
    clock,
    replica,
    store,
    engine: { applyKb: async (ops) => await (await starting).applyKb(ops) },
    channel,
    onGap: () => { void sync?.pullAll() },
    onError: (err) => { log.error(`knowledge: ${err.message}`) }
  })
  knowledge = known
  await known.start()
  const synced = await createSync(libp2p, {
    vector: () => replica.vector(),
    missing: (remote) => replica.missing(remote),
    accept: async (events) => {
      const { onCaughtUp } = init
      // Only a program that asks pays for telling the new events apart (a catch-up of 100,000).
      if (onCaughtUp === undefined) return await known.remote(events)
      const lacked = events.filter(event => !replica.holds(event.id))
      await known.remote(events)
      const taken = lacked.filter(event => replica.holds(event.id))
      if (taken.length > 0) onCaughtUp(taken)
    }
  }, {
    protocol: syncProtocol(init.network),
    onError: (from, err) => { log.warn(`sync with ${from} failed: ${err.message ?? String(err)}`) }
  })
  sync = synced
  const engine = await readyEngine(starting, init.program).catch(async (err: unknown) => {
    await synced.stop()
    throw err
  })
  peer = createPeer({
    origin,
    channel,
    engine,
    clock,
    onKbEvents: (events) => { void known.remote(events) },
    onError: (err) => { log.warn(`engine: ${err.message}`) }
  })
  // Gossip that came before the peer listened was not taken: pull what it carried.
  void synced.pullAll()
  return {
    origin,
    engine,
    channel,
    knowledge: known,
    peer,
    sync: synced,
    stop: async () => {
      await known.settled()
      await synced.stop()
      channel.stop()
      await engine.close()
      await store.close()
    }
  }
}

/** The engine once it is up, with the member's own program loaded. */
async function readyEngine (starting: Promise<Engine>, program: MemberInit['program']): Promise<Engine> {
  const engine = await starting
  if (program === undefined) return engine
  await engine.consult(program.text, { source: program.file }).catch((err: Error) => {
    throw new Error(`cannot load ${program.file}: ${err.message}`)
  })
  return engine
}
