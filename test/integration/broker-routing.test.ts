import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { createTransport } from '../../src/delivery/transport-factory';
import type { RawEvent } from '../../src/delivery/contract';
import { partitionOf } from '../../src/delivery/transports/codec';
import { durableName } from '../../src/delivery/transports/nats';
import { queueName, unroutedQueue } from '../../src/delivery/transports/rabbitmq';
import { rabbitTopology } from '../../src/delivery/transports/rabbitmq-topology';
import type { ConsumerTopology, Transport } from '../../src/delivery/contract';
import { waitFor } from '../../src/util/wait';
import { isolatedTransport, transportsUnderTest } from '../helpers/delivery';

// What the broker holds per partition: each partition's queue (RabbitMQ) or durable consumer
// (NATS) receives only the events of its own streams, so four partitions store and carry each
// event once rather than four times; and broker resources made by an earlier version (an
// exchange without the alternate exchange, a durable filtering on every subject) are upgraded
// without losing what they hold.

const brokers = transportsUnderTest().filter((k) => k !== 'postgres');
if (brokers.length === 0) test.skip('no broker reachable (AMQP_URL / NATS_URL)', () => undefined);

const STREAMS = 200;
const noop = { pool: undefined as never, wakeup: undefined as never };

function eventOf(streamId: string, eventType = 'order.approved'): RawEvent {
  return {
    eventId: randomUUID(),
    eventType,
    schemaVersion: 1,
    streamId,
    streamVersion: 1,
    globalPosition: 1,
    transactionId: '1',
    payload: { orderId: streamId.slice('order-'.length) },
    metadata: {},
    occurredAt: new Date().toISOString(),
  };
}

const topology = (consumer: string, partitions: number): ConsumerTopology => ({
  consumer,
  handles: ['order.approved'],
  partitions,
});

/** How many of `streams` fall into each of `partitions`. */
function expectedCounts(streams: string[], partitions: number): number[] {
  const counts = Array<number>(partitions).fill(0);
  for (const s of streams) counts[partitionOf(s, partitions)]!++;
  return counts;
}

async function withRabbitChannel<T>(url: string, fn: (channel: Channel) => Promise<T>): Promise<T> {
  const connection: ChannelModel = await amqp.connect(url);
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await fn(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

describe.each(brokers)('routing over %s', (kind) => {
  const settings = isolatedTransport(kind);
  const names = settings.names!;
  let transport: Transport;
  const four = topology('routed-four', 4);
  const three = topology('routed-three', 3);

  beforeAll(() => {
    transport = createTransport(settings, noop);
  });
  afterAll(async () => {
    if (kind === 'rabbitmq') {
      await withRabbitChannel(settings.amqpUrl!, async (ch) => {
        for (const t of [four, three]) {
          for (let p = 0; p < t.partitions; p++) await ch.deleteQueue(queueName(t.consumer, p, names.queuePrefix));
        }
        await ch.deleteQueue(unroutedQueue(names.queuePrefix));
        await ch.deleteExchange(names.exchange!);
        await ch.deleteExchange(`${names.exchange}.unrouted`);
      }).catch(() => undefined);
    } else {
      const nc = await connect({ servers: settings.natsUrl! });
      await (await jetstreamManager(nc)).streams.delete(names.stream!).catch(() => undefined);
      await nc.close();
    }
  });

  /** Messages waiting per partition of a consumer. */
  async function heldPerPartition(t: ConsumerTopology): Promise<number[]> {
    if (kind === 'rabbitmq') {
      return withRabbitChannel(settings.amqpUrl!, async (ch) => {
        const counts: number[] = [];
        for (let p = 0; p < t.partitions; p++) {
          counts.push((await ch.checkQueue(queueName(t.consumer, p, names.queuePrefix))).messageCount);
        }
        return counts;
      });
    }
    const nc = await connect({ servers: settings.natsUrl! });
    try {
      const jsm = await jetstreamManager(nc);
      const counts: number[] = [];
      for (let p = 0; p < t.partitions; p++) {
        counts.push((await jsm.consumers.info(names.stream!, durableName(t.consumer, p))).num_pending);
      }
      return counts;
    } finally {
      await nc.close();
    }
  }

  test('each partition holds only its own streams’ events; an unknown type is kept apart', async () => {
    const publisher = await transport.createPublisher([four, three]);
    const streams = Array.from({ length: STREAMS }, () => `order-${randomUUID()}`);
    try {
      await publisher.publish([...streams.map((s) => eventOf(s)), eventOf(streams[0]!, 'order.teleported')]);
    } finally {
      await publisher.close();
    }
    const fourExpected = expectedCounts(streams, 4);
    expect(fourExpected.every((n) => n > 0)).toBe(true);
    // Quorum queues and JetStream report what they hold a moment after the confirm.
    const held = await waitFor(
      async () => {
        const counts = await heldPerPartition(four);
        return counts.reduce((a, b) => a + b, 0) >= STREAMS ? counts : undefined;
      },
      { timeoutMs: 15_000, description: 'the published events to be counted' },
    );
    if (kind === 'rabbitmq') {
      // What the publisher declared is what docs/topology.md renders (rabbitTopology): each of them exists.
      const declared = rabbitTopology([four, three], { exchange: names.exchange!, queuePrefix: names.queuePrefix! });
      const missing = await withRabbitChannel(settings.amqpUrl!, async (ch) => {
        const absent: string[] = [];
        for (const e of declared.exchanges) await ch.checkExchange(e.name).catch(() => absent.push(e.name));
        for (const q of declared.queues) await ch.checkQueue(q.name).catch(() => absent.push(q.name));
        return absent;
      });
      expect(missing).toEqual([]);
      expect(declared.queues).toHaveLength(1 + 4 + 3);
      expect(held).toEqual(fourExpected);
      // RabbitMQ binds any partition count to its own buckets; the unknown type matched none.
      expect(await heldPerPartition(three)).toEqual(expectedCounts(streams, 3));
      const unrouted = await withRabbitChannel(settings.amqpUrl!, (ch) =>
        ch.checkQueue(unroutedQueue(names.queuePrefix)),
      );
      expect(unrouted.messageCount).toBe(1);
    } else {
      // The unknown type travels with its stream, to one partition (where the runtime dead-letters it).
      const withUnknown = [...fourExpected];
      withUnknown[partitionOf(streams[0]!, 4)]!++;
      expect(held).toEqual(withUnknown);
      // NATS 2.9 filters on one subject: a count that is no power of two sees every event.
      expect(await heldPerPartition(three)).toEqual([STREAMS + 1, STREAMS + 1, STREAMS + 1]);
    }
  });
});

const rabbit = brokers.includes('rabbitmq') ? describe : describe.skip;
rabbit('an events exchange declared by an earlier version (RabbitMQ)', () => {
  const settings = isolatedTransport('rabbitmq');
  const names = settings.names!;
  const consumer = topology('upgraded', 1);
  const queue = queueName(consumer.consumer, 0, names.queuePrefix);

  afterAll(async () => {
    await withRabbitChannel(settings.amqpUrl!, async (ch) => {
      await ch.deleteQueue(queue);
      await ch.deleteQueue(unroutedQueue(names.queuePrefix));
      await ch.deleteExchange(names.exchange!);
      await ch.deleteExchange(`${names.exchange}.unrouted`);
    }).catch(() => undefined);
  });

  test('is replaced by the relay’s publisher with its alternate exchange; queued messages stay', async () => {
    // What an earlier version declared: no alternate exchange, bound by type, one message waiting.
    const connection = await amqp.connect(settings.amqpUrl!);
    const ch = await connection.createConfirmChannel();
    await ch.assertExchange(names.exchange!, 'topic', { durable: true });
    await ch.assertQueue(queue, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true },
    });
    await ch.bindQueue(queue, names.exchange!, 'order.approved');
    ch.publish(names.exchange!, 'order.approved', Buffer.from(JSON.stringify(eventOf(`order-${randomUUID()}`))));
    await ch.waitForConfirms();
    await connection.close();
    const transport = createTransport(settings, noop);
    // A consumer of the new version uses the old exchange as it is (no 406 loop).
    const source = await transport.openPartition(consumer, 0);
    try {
      expect(await source.fetch(10, 5000)).toHaveLength(1);
    } finally {
      await source.close(); // unacknowledged: the message goes back to the queue
    }

    const publisher = await transport.createPublisher([consumer]);
    try {
      await publisher.publish([eventOf(`order-${randomUUID()}`), eventOf(`order-${randomUUID()}`, 'order.teleported')]);
    } finally {
      await publisher.close();
    }
    await waitFor(
      async () =>
        withRabbitChannel(settings.amqpUrl!, async (ch) => {
          const [q, u] = [await ch.checkQueue(queue), await ch.checkQueue(unroutedQueue(names.queuePrefix))];
          return q.messageCount === 2 && u.messageCount === 1;
        }),
      { timeoutMs: 15_000, description: 'the old message and the new one queued, the unknown type unrouted' },
    );
  });
});
