import type { ConsumerTopology, RawEvent } from '../contract';
import { bucketWords, partitionPatterns } from './codec';

/**
 * What the RabbitMQ transport declares, as data: the transport asserts exactly these, and
 * `docs/topology.md` is rendered from them, so the two cannot drift apart.
 */

/**
 * The durable topic exchange the relay publishes to. Routing key: the stream's bucket words,
 * then the event type (`1.0.1.1.0.0.order.created`), so each partition's queue is bound to
 * its own buckets of the types its consumer handles and nothing else reaches it.
 */
export const EXCHANGE = 'saga.events';
export const QUEUE_PREFIX = 'saga';
/** One quorum queue per consumer partition, single active consumer: `saga.<consumer>.<partition>`. */
export const queueName = (consumer: string, partition: number, prefix = QUEUE_PREFIX): string =>
  `${prefix}.${consumer}.${partition}`;
/** What no queue's binding takes goes to `<exchange>.unrouted` (fanout), into this queue. */
export const unroutedExchange = (exchange: string): string => `${exchange}.unrouted`;
export const unroutedQueue = (prefix = QUEUE_PREFIX): string => `${prefix}.unrouted`;
export const routingKeyOf = (event: Pick<RawEvent, 'streamId' | 'eventType'>): string =>
  `${bucketWords(event.streamId)}.${event.eventType}`;

/** Every queue's arguments. Failed events are dead-lettered in PostgreSQL (`dead_letters`), not by the broker. */
export const QUEUE_ARGS: Readonly<Record<string, unknown>> = {
  'x-queue-type': 'quorum',
  'x-single-active-consumer': true,
};

export interface RabbitNames {
  exchange: string;
  queuePrefix: string;
}

export const DEFAULT_RABBIT_NAMES: RabbitNames = Object.freeze({ exchange: EXCHANGE, queuePrefix: QUEUE_PREFIX });

export interface ExchangeDeclaration {
  name: string;
  type: 'topic' | 'fanout';
  durable: true;
  alternateExchange?: string;
}

export interface QueueDeclaration {
  name: string;
  durable: true;
  arguments: Readonly<Record<string, unknown>>;
}

export interface BindingDeclaration {
  queue: string;
  exchange: string;
  routingKey: string;
}

/** The alternate exchange, the unrouted queue and its binding: declared before the events exchange. */
export function unroutedDeclarations(names: RabbitNames): {
  exchange: ExchangeDeclaration;
  queue: QueueDeclaration;
  binding: BindingDeclaration;
} {
  const exchange = unroutedExchange(names.exchange);
  const queue = unroutedQueue(names.queuePrefix);
  return {
    exchange: { name: exchange, type: 'fanout', durable: true },
    queue: { name: queue, durable: true, arguments: QUEUE_ARGS },
    binding: { queue, exchange, routingKey: '' },
  };
}

/** The events exchange, with the unrouted exchange as its alternate. */
export const eventsExchange = (names: RabbitNames): ExchangeDeclaration => ({
  name: names.exchange,
  type: 'topic',
  durable: true,
  alternateExchange: unroutedExchange(names.exchange),
});

/** One consumer partition's queue, bound to its own buckets (outer) of each type it handles (inner). */
export function partitionDeclarations(
  names: RabbitNames,
  topology: ConsumerTopology,
  partition: number,
): { queue: QueueDeclaration; bindings: BindingDeclaration[] } {
  const queue = queueName(topology.consumer, partition, names.queuePrefix);
  return {
    queue: { name: queue, durable: true, arguments: QUEUE_ARGS },
    bindings: partitionPatterns(partition, topology.partitions).flatMap((pattern) =>
      topology.handles.map((type) => ({ queue, exchange: names.exchange, routingKey: `${pattern}.${type}` })),
    ),
  };
}

/** Everything declared for these consumers, in declaration order. */
export function rabbitTopology(
  topology: readonly ConsumerTopology[],
  names: RabbitNames = DEFAULT_RABBIT_NAMES,
): { exchanges: ExchangeDeclaration[]; queues: QueueDeclaration[]; bindings: BindingDeclaration[] } {
  const unrouted = unroutedDeclarations(names);
  const partitions = topology.flatMap((t) =>
    Array.from({ length: t.partitions }, (_, p) => partitionDeclarations(names, t, p)),
  );
  return {
    exchanges: [unrouted.exchange, eventsExchange(names)],
    queues: [unrouted.queue, ...partitions.map((p) => p.queue)],
    bindings: [unrouted.binding, ...partitions.flatMap((p) => p.bindings)],
  };
}
