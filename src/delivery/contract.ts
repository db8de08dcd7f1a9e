/**
 * The delivery contract: what travels from the log to consumers and how the runtime and the
 * transports talk (the relay's publisher, a consumer partition's ordered feed). It knows no
 * storage and no broker.
 */

/** Where a reader stands in the log. `transactionId` is an xid8 as text. */
export interface LogPosition {
  transactionId: string;
  globalPosition: number;
}

export const START_OF_LOG: LogPosition = Object.freeze({ transactionId: '0', globalPosition: 0 });

/** A stored event as it travels to consumers (through a broker or straight from the log). */
export interface RawEvent {
  eventId: string;
  eventType: string;
  schemaVersion: number;
  streamId: string;
  streamVersion: number;
  globalPosition: number;
  transactionId: string;
  payload: unknown;
  metadata: Record<string, unknown>;
  occurredAt: string;
}

/** The position of an event in the log (a reader's next checkpoint). */
export const positionOf = (e: RawEvent): LogPosition => ({
  transactionId: e.transactionId,
  globalPosition: e.globalPosition,
});

/** Which way events travel from the log to consumers (`TRANSPORT`). */
export type TransportKind = 'postgres' | 'rabbitmq' | 'nats';
export const TRANSPORT_KINDS: readonly TransportKind[] = ['postgres', 'rabbitmq', 'nats'];

/** What the broker side must hold for one consumer: one queue / durable consumer per partition. */
export interface ConsumerTopology {
  consumer: string;
  handles: readonly string[];
  partitions: number;
}

/** One message as a consumer receives it: the event, or why it could not be read. */
export type Delivery =
  | {
      kind: 'event';
      event: RawEvent;
      /** The message's `traceparent` header (the relay's publish span). */ traceparent?: string;
    }
  | { kind: 'malformed'; messageId: string | undefined; text: string; problem: string };

/**
 * The ordered feed of one consumer partition. The runtime handles deliveries in order and
 * acknowledges them after their effects committed; `rewind` makes everything not yet
 * acknowledged come again, in the same order (after an infrastructure failure mid-batch).
 */
export interface PartitionSource {
  /** Up to `max` deliveries in order; waits up to `waitMs` for the first one. */
  fetch(max: number, waitMs: number): Promise<Delivery[]>;
  /** These deliveries (a prefix of what was fetched) are done. */
  ack(deliveries: Delivery[]): Promise<void>;
  rewind(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Publishes to a broker; each call resolves only once the broker confirmed every one of its
 * events. Calls may overlap (the relay sends the next batch while the last one's confirms are
 * outstanding): a later call's messages reach the broker after an earlier call's.
 */
export interface Publisher {
  /** `traceparents`: per event id, the trace context for the message headers (default: the event's own). */
  publish(events: RawEvent[], traceparents?: ReadonlyMap<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Whether events must be relayed from the log to a broker. */
  readonly needsRelay: boolean;
  /**
   * Batches the relay keeps in flight: 2 where a batch's confirms are one round trip the next
   * batch can overlap (RabbitMQ), 1 where every message is already awaited concurrently and a
   * second batch only adds client work (NATS). `RelayOptions.pipelineDepth` overrides it.
   */
  readonly relayPipelineDepth: number;
  /** For the relay: declares every consumer's queue first, so nothing is published into the void. */
  createPublisher(topology: readonly ConsumerTopology[]): Promise<Publisher>;
  openPartition(topology: ConsumerTopology, partition: number): Promise<PartitionSource>;
  /**
   * The messages no consumer's binding took (RabbitMQ's alternate exchange: an event type no
   * consumer handles, or one this version does not know), as one ordered feed. Absent where
   * every partition sees every type anyway (PostgreSQL, NATS) and the runtime sorts them out.
   */
  openUnrouted?(): Promise<PartitionSource>;
  close(): Promise<void>;
}

/** The broker could not be reached or refused a publish: retried with backoff, never skipped. */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}
