/**
 * The event channel: wire events over one gossipsub topic.
 *
 * Events published in the same turn of the event loop travel together in one gossipsub message
 * (a batch), which is how throughput is reached: gossipsub costs per message, not per byte.
 * Every inbound message is decoded and validated in the topic validator, so an invalid batch is
 * rejected before it is forwarded (which also lowers the sender's gossipsub score) and counted by
 * reason. A batch must be signed by the peer that every one of its events names as origin.
 *
 * Guarantees: events of one publisher arrive in the order they were published, as far as gossipsub
 * keeps the order of one sender's messages. Non-guarantees: delivery (a peer that is away misses
 * events: the sync protocol repairs that), order across publishers.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { decodeBatch, encodeBatches } from '../wire/event.ts'
import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS } from './constants.ts'
import type { WireEvent } from '../wire/event.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'

export interface EventChannelInit {
  /** The gossipsub topic, see `eventTopic()`. */
  topic: string
  /** @default MAX_BATCH_EVENTS */
  maxBatchEvents?: number
  /** Most bytes of one gossipsub message; more events are split over several. @default MAX_BATCH_BYTES */
  maxBatchBytes?: number
}

export interface EventChannelComponents {
  pubsub: GossipSub
  peerId: PeerId
}

/** Where an inbound batch came from: the peer that signed it. */
export interface InboundBatch {
  readonly events: readonly WireEvent[]
  readonly from: string
}

export interface EventChannel {
  /** Queue an event; it is sent with the others of this turn. */
  publish (event: WireEvent): void
  /** Send what is queued now. Resolves when gossipsub has taken the batch. */
  flush (): Promise<void>
  /** Called for every valid inbound batch, in arrival order. */
  onBatch (listener: (batch: InboundBatch) => void): void
  /** Called with every event this member publishes, when it is queued (an event log shows them). */
  onPublish (listener: (event: WireEvent) => void): void
  /** Counts of refused inbound messages by reason, and of batches and events both ways. */
  readonly counters: Readonly<Record<string, number>>
  stop (): void
}

export function createEventChannel (components: EventChannelComponents, init: EventChannelInit): EventChannel {
  const { pubsub } = components
  const { topic } = init
  const maxBatchEvents = init.maxBatchEvents ?? MAX_BATCH_EVENTS
  const maxBatchBytes = init.maxBatchBytes ?? MAX_BATCH_BYTES
  const counters: Record<string, number> = {}
  const count = (key: string, n = 1): void => { counters[key] = (counters[key] ?? 0) + n }
  const listeners: Array<(batch: InboundBatch) => void> = []
  const publishListeners: Array<(event: WireEvent) => void> = []
  // The validator decodes once; the message listener picks the result up by message object.
  const validated = new WeakMap<Message, readonly WireEvent[]>()
  let queue: WireEvent[] = []
  let scheduled = false
  let sending: Promise<void> = Promise.resolve()

  pubsub.topicValidators.set(topic, (_peer, message) => {
    const verdict = validate(message)
    if (verdict.ok) {
      validated.set(message, verdict.events)
      return TopicValidatorResult.Accept
    }
    count(`refused_${verdict.reason}`)
    return TopicValidatorResult.Reject
  })

  const onMessage = (evt: CustomEvent<Message>): void => {
    const message = evt.detail
    if (message.topic !== topic || message.type !== 'signed') return
    const events = validated.get(message) ?? decodeOrNull(message)
    if (events === null) return
    count('batches_in')
    count('events_in', events.length)
    const batch = { events, from: message.from.toString() }
    for (const listener of listeners) listener(batch)
  }
  pubsub.addEventListener('message', onMessage)
  pubsub.subscribe(topic)

  function validate (message: Message): { ok: true, events: readonly WireEvent[] } | { ok: false, reason: string } {
    if (message.type !== 'signed') return { ok: false, reason: 'unsigned' }
    let events: WireEvent[]
    try {
      events = decodeBatch(message.data)
    } catch (err) {
      return { ok: false, reason: reasonOf(err) }
    }
    const from = message.from.toString()
    if (events.some(e => e.origin !== from)) return { ok: false, reason: 'origin_mismatch' }
    return { ok: true, events }
  }

  function decodeOrNull (message: Message): readonly WireEvent[] | null {
    const verdict = validate(message)
    return verdict.ok ? verdict.events : null
  }

  function publish (event: WireEvent): void {
    queue.push(event)
    for (const listener of publishListeners) listener(event)
    if (queue.length >= maxBatchEvents) {
      void flush()
    } else if (!scheduled) {
      scheduled = true
      nextTurn(() => { void flush() })
    }
  }

  function flush (): Promise<void> {
    scheduled = false
    if (queue.length === 0) return sending
    const events = queue
    queue = []
    const batches = encode(events)
    // Batches go out one after the other so that they leave in the order they were made.
    sending = sending.then(async () => {
      for (const data of batches) {
        try {
          await pubsub.publish(topic, data)
          count('batches_out')
        } catch (err) {
          count(`publish_failed_${reasonOf(err)}`)
        }
      }
    })
    return sending
  }

  /** Encodes into as few batches as the limits allow; an event that cannot be encoded is dropped and counted. */
  function encode (events: WireEvent[]): Uint8Array[] {
    const limits = { maxBatchEvents, maxBatchBytes }
    try {
      const batches = encodeBatches(events, limits)
      count('events_out', events.length)
      return batches
    } catch {
      return events.flatMap((event) => {
        try {
          const batches = encodeBatches([event], limits)
          count('events_out')
          return batches
        } catch (err) {
          count(`unencodable_${reasonOf(err)}`)
          return []
        }
      })
    }
  }

  return {
    publish,
    flush,
    onBatch: (listener) => { listeners.push(listener) },
    onPublish: (listener) => { publishListeners.push(listener) },
    counters,
    stop: () => {
      pubsub.removeEventListener('message', onMessage)
      pubsub.topicValidators.delete(topic)
      pubsub.unsubscribe(topic)
    }
  }
}

/** The next turn of the event loop: Node's setTimeout(0) waits at least 1 ms, setImmediate does not. */
const nextTurn: (fn: () => void) => void = typeof setImmediate === 'function' ? setImmediate : (fn) => { setTimeout(fn, 0) }

function reasonOf (err: unknown): string {
  if (err instanceof Error) {
    const reason = (err as Error & { reason?: unknown }).reason
    return typeof reason === 'string' ? reason : err.name
  }
  return 'unknown'
}
