import { DeliverPolicy } from '@nats-io/jetstream';
import { CONSUMERS } from '../consumers';
import { topologyOf, type ConsumerDefinition } from '../delivery/consumer';
import { partitionLockName, UNROUTED_LOCK_NAME } from '../delivery/consumer-runner';
import { relayLockName, relaySubscriber } from '../delivery/relay';
import { TRANSPORT_KINDS, type ConsumerTopology } from '../delivery/contract';
import { isPrefixRoutable, partitionPatterns, ROUTING_BUCKETS } from '../delivery/transports/codec';
import {
  DEFAULT_NATS_NAMES,
  DUPLICATE_WINDOW_MS,
  natsTopology,
  partitionFilter,
  type NatsNames,
} from '../delivery/transports/nats-topology';
import { consumerSubscriber } from '../delivery/transports/postgres';
import {
  DEFAULT_RABBIT_NAMES,
  queueName,
  rabbitTopology,
  type RabbitNames,
} from '../delivery/transports/rabbitmq-topology';
import { EVENTS_CHANNEL } from '../store/event-store';
import { code, table } from './markdown';

/**
 * `docs/topology.md`: what each transport declares on its broker (or uses in PostgreSQL) for
 * the consumers, rendered from the same functions the transports declare with. Pure.
 */

export interface TopologyDocOptions {
  /** RabbitMQ exchange and queue prefix. Default the transport's: `saga.events`, `saga`. */
  rabbit?: RabbitNames;
  /** NATS stream and subject prefix. Default the transport's: `SAGA_EVENTS`, `events`. */
  nats?: NatsNames;
  /** NATS duplicate window. Default the transport's, 2 min. */
  duplicateWindowMs?: number;
  /** Partition counts the "how partitions multiply" table shows. Default 1, 2, 3, 4, 8. */
  partitionExamples?: readonly number[];
}

const codes = (items: readonly string[]) => items.map(code).join(', ');
const args = (a: Readonly<Record<string, unknown>>) => codes(Object.entries(a).map(([k, v]) => `${k}=${String(v)}`));
const seconds = (ns: number) => `${ns / 1e9} s`;
const numbered = (n: number) => Array.from({ length: n }, (_, i) => i);

function consumersSection(topology: readonly ConsumerTopology[]): string[] {
  return [
    '## Consumers',
    '',
    ...table(
      ['consumer', 'partitions', 'handles'],
      topology.map((t) => [code(t.consumer), String(t.partitions), codes(t.handles)]),
    ),
  ];
}

function multiplySection(examples: readonly number[], nats: NatsNames): string[] {
  return [
    '## How partitions multiply it',
    '',
    `A consumer with \`partitions: n\` (default 1) gets \`n\` of everything per partition below, numbered 0..n-1. ` +
      `Streams are spread over ${ROUTING_BUCKETS} routing buckets (FNV-1a of the stream id) and partition \`p\` takes the buckets \`b % n = p\`. ` +
      'A power-of-two count is one bucket-word prefix per partition; any other count lists its buckets one by one ' +
      '(RabbitMQ binds each of them per type; NATS filters on one subject, so such a durable takes every subject and the runtime skips other partitions’ streams).',
    '',
    ...table(
      [
        'partitions',
        'RabbitMQ bindings per queue and type',
        'partition 0: routing-key prefix(es)',
        'partition 0: NATS filter',
      ],
      examples.map((n) => {
        const patterns = partitionPatterns(0, n);
        const shown = patterns.length > 2 ? [...patterns.slice(0, 2), '…'] : patterns;
        return [
          String(n),
          `${patterns.length}${isPrefixRoutable(n) ? '' : ' (not a power of two)'}`,
          shown.map((p) => (p === '…' ? p : code(p))).join(', '),
          code(partitionFilter(nats.prefix, 0, n)),
        ];
      }),
    ),
  ];
}

function rabbitSection(topology: readonly ConsumerTopology[], names: RabbitNames): string[] {
  const declared = rabbitTopology(topology, names);
  const keysOf = (queue: string, exchange: string) =>
    declared.bindings.filter((b) => b.queue === queue && b.exchange === exchange).map((b) => b.routingKey);
  const partitionOfQueue = new Map(
    topology.flatMap((t) =>
      numbered(t.partitions).map((p) => [queueName(t.consumer, p, names.queuePrefix), `${t.consumer} ${p}`]),
    ),
  );
  const owner = (queue: string) => partitionOfQueue.get(queue) ?? 'every consumer (unknown and unhandled types)';
  return [
    '## RabbitMQ (`TRANSPORT=rabbitmq`)',
    '',
    'Declared by the relay before its first publish (all of it) and by each consumer partition before it consumes (its own queue). ' +
      'Routing key: the stream’s six bucket words, then the event type (`1.0.1.1.0.0.order.created`).',
    '',
    '### Exchanges',
    '',
    ...table(
      ['exchange', 'type', 'durable', 'alternate exchange'],
      declared.exchanges.map((e) => [
        code(e.name),
        e.type,
        String(e.durable),
        e.alternateExchange ? code(e.alternateExchange) : '—',
      ]),
    ),
    '',
    '### Queues',
    '',
    'No queue has a dead-letter exchange: an event a consumer gives up on is recorded in PostgreSQL (`dead_letters`) and acknowledged, whatever the transport.',
    '',
    ...table(
      ['queue', 'consumer partition', 'durable', 'arguments'],
      declared.queues.map((q) => [code(q.name), owner(q.name), String(q.durable), args(q.arguments)]),
    ),
    '',
    '### Bindings',
    '',
    ...table(
      ['queue', 'exchange', 'routing keys'],
      declared.queues.flatMap((q) =>
        declared.exchanges
          .map((e) => [q.name, e.name, keysOf(q.name, e.name)] as const)
          .filter(([, , keys]) => keys.length > 0)
          .map(([queue, exchange, keys]) => [
            code(queue),
            code(exchange),
            keys.map((k) => (k === '' ? '(fanout: everything)' : code(k))).join(', '),
          ]),
      ),
    ),
  ];
}

function natsSection(topology: readonly ConsumerTopology[], names: NatsNames, duplicateWindowMs: number): string[] {
  const { stream, durables } = natsTopology(topology, names, duplicateWindowMs);
  return [
    '## NATS JetStream (`TRANSPORT=nats`)',
    '',
    'Created when missing (existing ones are used as they are) by the relay before its first publish and by each consumer partition before it consumes. ' +
      `A partition’s new owner recreates its durable to start right after its ack floor (deliver policy ${code(DeliverPolicy.StartSequence)}), so what the previous owner held comes again in order.`,
    '',
    '### Stream',
    '',
    ...table(
      ['stream', 'subjects', 'retention', 'storage', 'duplicate window'],
      [[code(stream.name), codes(stream.subjects), stream.retention, stream.storage, seconds(stream.duplicate_window)]],
    ),
    '',
    '### Durable consumers',
    '',
    `Pull consumers, created with deliver policy ${code(DeliverPolicy.All)}; each takes every event type of its buckets and the runtime skips (or dead-letters, if unknown) the types its consumer does not handle.`,
    '',
    ...table(
      ['durable', 'consumer partition', 'filter subject', 'ack policy', 'ack wait', 'max deliver', 'max ack pending'],
      durables.map((d) => [
        code(d.config.durable_name),
        `${d.consumer} ${d.partition}`,
        code(d.config.filter_subject),
        d.config.ack_policy,
        seconds(d.config.ack_wait),
        d.config.max_deliver === -1 ? 'unlimited' : String(d.config.max_deliver),
        String(d.config.max_ack_pending),
      ]),
    ),
  ];
}

function postgresSection(topology: readonly ConsumerTopology[]): string[] {
  const brokers = TRANSPORT_KINDS.filter((k) => k !== 'postgres');
  return [
    '## PostgreSQL (`TRANSPORT=postgres`, and what every transport keeps there)',
    '',
    `No broker and no relay: each consumer partition reads the \`events\` table in commit order from its own checkpoint (a \`subscription_checkpoints\` row), woken by \`NOTIFY ${EVENTS_CHANNEL}\` and polling as the fallback. ` +
      'Behind a broker the same table holds the relay’s checkpoint and a progress marker per partition (for lag figures). ' +
      'Whatever the transport, a partition is owned through a session advisory lock, and effects are deduplicated by `inbox (consumer, event_id)`, failures kept in `dead_letters`.',
    '',
    ...table(
      ['consumer partition', 'checkpoint (postgres)', 'progress marker (brokers)', 'advisory lock'],
      topology.flatMap((t) =>
        numbered(t.partitions).map((p) => [
          `${t.consumer} ${p}`,
          code(consumerSubscriber(t.consumer, p)),
          codes(brokers.map((k) => consumerSubscriber(t.consumer, p, k))),
          code(partitionLockName(t.consumer, p)),
        ]),
      ),
    ),
    '',
    ...table(
      ['relay of', 'checkpoint', 'advisory lock (one active relay)'],
      brokers.map((k) => [k, code(relaySubscriber(k)), code(relayLockName(k))]),
    ),
    '',
    `The RabbitMQ unrouted queue is drained by the one instance holding ${code(UNROUTED_LOCK_NAME)}.`,
  ];
}

/** `docs/topology.md` for these consumers (default: every consumer this project runs). */
export function renderTopology(
  consumers: readonly ConsumerDefinition[] = CONSUMERS,
  options: TopologyDocOptions = {},
): string {
  const topology = consumers.map(topologyOf);
  const rabbit = options.rabbit ?? DEFAULT_RABBIT_NAMES;
  const nats = options.nats ?? DEFAULT_NATS_NAMES;
  return [
    '<!-- Generated by `saga catalog` from src/delivery/transports/ and src/consumers/index.ts. Do not edit. -->',
    '',
    '# Broker topology',
    '',
    'What each transport declares for the consumers this project runs (`CONSUMERS`, src/consumers/index.ts), with the default names ' +
      '(tests isolate runs with others through `TransportSettings.names`). See [delivery.md](delivery.md) for how events travel.',
    '',
    ...consumersSection(topology),
    '',
    ...multiplySection(options.partitionExamples ?? [1, 2, 3, 4, 8], nats),
    '',
    ...rabbitSection(topology, rabbit),
    '',
    ...natsSection(topology, nats, options.duplicateWindowMs ?? DUPLICATE_WINDOW_MS),
    '',
    ...postgresSection(topology),
    '',
  ].join('\n');
}

/** The generated topology doc, with its repo-relative path. */
export function topologyDocs(): { path: string; content: string }[] {
  return [{ path: 'docs/topology.md', content: renderTopology() }];
}
