import { AckPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { ConsumerTopology, RawEvent } from '../contract';
import { bucketWords, isPrefixRoutable, partitionPatterns } from './codec';

/**
 * What the NATS transport creates, as data: the stream and the durable consumers' settings the
 * transport adds are these, and `docs/topology.md` is rendered from them.
 */

/** The JetStream stream holding every event, on subjects `events.<bucket words>.<type>`. */
export const STREAM = 'SAGA_EVENTS';
export const SUBJECT_PREFIX = 'events';
/** How long a re-published event is recognised as a duplicate by the server (`Nats-Msg-Id`). */
export const DUPLICATE_WINDOW_MS = 120_000;
/** Durable pull consumer of one consumer partition. */
export const durableName = (consumer: string, partition: number): string => `saga-${consumer}-${partition}`;
/**
 * An event's subject: the stream's bucket words, then the type (`events.1.0.1.1.0.0.order.created`),
 * so a partition's durable consumer filters on its own buckets. Event types are dotted names;
 * anything a subject cannot carry is replaced so it still routes.
 */
export const subjectOf = (event: Pick<RawEvent, 'streamId' | 'eventType'>, prefix = SUBJECT_PREFIX): string =>
  `${prefix}.${bucketWords(event.streamId)}.${event.eventType.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+|\.+$/g, '') || '_'}`;

/**
 * The subject a partition's durable consumer takes: its buckets when the partition count is a
 * power of two (`events.1.1.>` is partition 3 of 4). NATS 2.9 filters on one subject, so
 * other counts take every subject and the runtime skips other partitions' events.
 */
export function partitionFilter(prefix: string, partition: number, partitions: number): string {
  if (partitions <= 1 || !isPrefixRoutable(partitions)) return `${prefix}.>`;
  const words = partitionPatterns(partition, partitions)[0]!
    .split('.')
    .filter((w) => w !== '*');
  return `${prefix}.${words.join('.')}.>`;
}

export interface NatsNames {
  stream: string;
  prefix: string;
}

export const DEFAULT_NATS_NAMES: NatsNames = Object.freeze({ stream: STREAM, prefix: SUBJECT_PREFIX });

/**
 * The stream, created when it does not exist (an existing one is used as it is). Retention by
 * limits (JetStream's default, stated): messages stay after every durable acknowledged them,
 * so a durable recreated at its ack floor finds them.
 */
export const streamConfig = (names: NatsNames, duplicateWindowMs = DUPLICATE_WINDOW_MS) => ({
  name: names.stream,
  subjects: [`${names.prefix}.>`],
  retention: RetentionPolicy.Limits,
  storage: StorageType.File,
  duplicate_window: nanos(duplicateWindowMs),
});

export interface Durable {
  name: string;
  filter: string;
}

/** One consumer partition's durable pull consumer. */
export const durableOf = (names: NatsNames, topology: ConsumerTopology, partition: number): Durable => ({
  name: durableName(topology.consumer, partition),
  filter: partitionFilter(names.prefix, partition, topology.partitions),
});

/** A durable consumer's settings (the deliver policy is chosen where it is created). */
export const consumerConfig = (durable: string, filter: string) => ({
  durable_name: durable,
  ack_policy: AckPolicy.Explicit,
  // Its partition's buckets, every event type: the runtime skips the types a consumer does not
  // handle (it also sees unknown types that way, and dead-letters them).
  filter_subject: filter,
  ack_wait: nanos(30_000),
  max_deliver: -1,
  max_ack_pending: 1000,
});

/** Everything created for these consumers: the stream and one durable per consumer partition. */
export function natsTopology(
  topology: readonly ConsumerTopology[],
  names: NatsNames = DEFAULT_NATS_NAMES,
  duplicateWindowMs = DUPLICATE_WINDOW_MS,
) {
  return {
    stream: streamConfig(names, duplicateWindowMs),
    durables: topology.flatMap((t) =>
      Array.from({ length: t.partitions }, (_, p) => {
        const durable = durableOf(names, t, p);
        return { consumer: t.consumer, partition: p, config: consumerConfig(durable.name, durable.filter) };
      }),
    ),
  };
}
