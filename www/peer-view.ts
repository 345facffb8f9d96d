/**
 * What the page shows of its peer. The browser peer (browser-peer.ts) implements it; the panels
 * (www/ui/) read nothing else, so either side can change without the other.
 */
import type { Engine } from '../core/engine/engine.ts'
import type { WireEvent } from '../core/wire/event.ts'
import type { Term } from '../core/wire/term.ts'

/** One signaller of the peers file, as this page sees it. */
export type SignallerStatus =
  | { state: 'connecting', address: string }
  | { state: 'up', address: string }
  /** `error` says what failed in words a user can act on; the next try is in `retryInMs`. */
  | { state: 'down', address: string, error: string, retryInMs: number }

export type LinkTransport = 'webrtc' | 'relay' | 'websocket' | 'other'

/** A peer this page has a connection to. */
export interface PeerLink {
  /** The remote peer id (string form). */
  id: string
  /** A signaller of the peers file, or any other member (browser, node peer). */
  role: 'signaller' | 'peer'
  /** The transports of its open connections, the best first (webrtc, then relay, websocket). */
  transports: LinkTransport[]
  /** Round trip of the last ping in ms; undefined before the first answer. */
  rttMs?: number
}

/**
 * An event that this page sent, or that reached it from the network; or, as kind `sync`, the kb
 * events one catch-up (the sync protocol) brought, in one entry.
 */
export interface LoggedEvent {
  kind: WireEvent['kind'] | 'sync'
  /** Who made the event; for a sync, the origin of its first event. */
  origin: string
  /** The term of a message, request or reply, the goal of a query, the clause of an assert. */
  term?: Term
  /** For a retract: how many clauses it removes. */
  count?: number
  /** For a sync: how many asserts and retracts it brought, made by how many origins. */
  caughtUp?: { asserts: number, retracts: number, origins: number }
  /**
   * Ms from the origin's clock stamp to the arrival here (for a sync, of its oldest event: how
   * long the page had missed it); 0 for this page's own events.
   */
  latencyMs: number
  own: boolean
  /** Date.now() when it was logged. */
  at: number
}

export interface SharedPredicate {
  name: string
  arity: number
  /** Live clauses in this page's replica. */
  clauses: number
}

export interface PeerView {
  /** This page's peer id; it stays the same across reloads. */
  readonly id: string
  readonly engine: Engine
  /** Every event, as it is sent or accepted; returns the unsubscribe function. */
  onEvent (listener: (event: LoggedEvent) => void): () => void
  /** Called with every signaller's status whenever one changes, and once at once. */
  onStatus (listener: (statuses: readonly SignallerStatus[]) => void): () => void
  /** The open links now, with their last ping round trip. */
  links (): Promise<PeerLink[]>
  /** The shared predicates (declared here, or with clauses) and their clause counts, by name then arity. */
  shared (): SharedPredicate[]
  /** The shared knowledge changed (here or from the network); read shared() again. */
  onKnowledge (listener: () => void): () => void
}
