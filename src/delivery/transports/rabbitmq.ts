import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { RawEvent } from '../contract';
import { BufferedPartitionSource } from './buffered-source';
import { decodeMessage, encodeEvent, eventHeaders } from './codec';
import {
  DEFAULT_RABBIT_NAMES,
  eventsExchange,
  partitionDeclarations,
  queueName,
  routingKeyOf,
  unroutedDeclarations,
  unroutedQueue,
  type ExchangeDeclaration,
  type QueueDeclaration,
  type RabbitNames,
} from './rabbitmq-topology';
import {
  BrokerUnavailableError,
  type ConsumerTopology,
  type Delivery,
  type Publisher,
  type Transport,
} from '../contract';

export { EXCHANGE, queueName, routingKeyOf, unroutedExchange, unroutedQueue } from './rabbitmq-topology';

export interface RabbitMqOptions {
  url: string;
  /** Exchange name. Default `saga.events`. */
  exchange?: string;
  /** Queue name prefix. Default `saga`. */
  queuePrefix?: string;
  /** Messages a consumer holds unacknowledged. Default 256. */
  prefetch?: number;
  /** How long the relay waits for a batch's confirms. Default 30 s. */
  confirmTimeoutMs?: number;
}

async function connect(url: string): Promise<ChannelModel> {
  try {
    const connection = await amqp.connect(url, { timeout: 5000 });
    // An error on the connection is reported through the operations that fail; never crash.
    connection.on('error', () => undefined);
    return connection;
  } catch (err) {
    throw new BrokerUnavailableError(`RabbitMQ is not reachable: ${(err as Error).message}`);
  }
}

type Names = RabbitNames;

const isPreconditionFailed = (err: unknown): boolean => (err as { code?: number }).code === 406;

/** Runs `fn` on a channel of its own: a refused declaration closes the channel it was made on. */
async function onOwnChannel<T>(connection: ChannelModel, fn: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    return await fn(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

const assertExchange = (channel: Channel, e: ExchangeDeclaration) =>
  channel.assertExchange(e.name, e.type, {
    durable: e.durable,
    ...(e.alternateExchange ? { alternateExchange: e.alternateExchange } : {}),
  });

const assertQueue = (channel: Channel, q: QueueDeclaration) =>
  channel.assertQueue(q.name, { durable: q.durable, arguments: q.arguments });

/**
 * The events exchange with its alternate exchange and the unrouted queue behind it.
 * An exchange declared by an earlier version has no alternate exchange and refuses the new
 * arguments (406). `upgrade` (the relay, the only publisher, before it publishes) then
 * replaces it; bindings go with it and are made again by `bindPartitions`. Others use the
 * exchange as it is until the relay has upgraded it.
 */
async function declareExchange(connection: ChannelModel, names: Names, upgrade: boolean): Promise<void> {
  const unrouted = unroutedDeclarations(names);
  await onOwnChannel(connection, async (channel) => {
    await assertExchange(channel, unrouted.exchange);
    await assertQueue(channel, unrouted.queue);
    await channel.bindQueue(unrouted.binding.queue, unrouted.binding.exchange, unrouted.binding.routingKey);
  });
  const declare = (channel: Channel) => assertExchange(channel, eventsExchange(names));
  try {
    await onOwnChannel(connection, declare);
  } catch (err) {
    if (!isPreconditionFailed(err)) throw err;
    if (!upgrade) return;
    await onOwnChannel(connection, async (channel) => {
      await channel.deleteExchange(names.exchange);
      await declare(channel);
    });
  }
}

/** Each partition's quorum queue, bound to its own buckets of the types its consumer handles. */
async function bindPartitions(
  connection: ChannelModel,
  names: Names,
  topology: readonly ConsumerTopology[],
): Promise<void> {
  await onOwnChannel(connection, async (channel) => {
    for (const t of topology) {
      for (let p = 0; p < t.partitions; p++) {
        const { queue, bindings } = partitionDeclarations(names, t, p);
        await assertQueue(channel, queue);
        for (const b of bindings) await channel.bindQueue(b.queue, b.exchange, b.routingKey);
      }
    }
  });
}

async function declare(
  connection: ChannelModel,
  names: Names,
  topology: readonly ConsumerTopology[],
  upgrade = false,
): Promise<void> {
  await declareExchange(connection, names, upgrade);
  await bindPartitions(connection, names, topology);
}

/** Rejects when the channel closes or errors, so a confirm wait never hangs on a dead broker. */
function closed(channel: Channel): Promise<never> {
  return new Promise((_, reject) => {
    const fail = (err?: Error) =>
      reject(new BrokerUnavailableError(`RabbitMQ channel closed${err ? `: ${err.message}` : ''}`));
    channel.once('close', () => fail());
    channel.once('error', fail);
  });
}

class RabbitPublisher implements Publisher {
  private readonly lost: Promise<never>;
  /** The batch being written: batches overlap only in their confirms, never in their writes. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly exchange: string,
    private readonly confirmTimeoutMs: number,
  ) {
    this.lost = closed(channel);
    this.lost.catch(() => undefined);
  }

  /**
   * Writes the batch after every earlier call's messages, then resolves once the broker has
   * confirmed it (and everything written before it): a caller may send the next batch
   * without waiting for this one's confirms.
   */
  async publish(events: RawEvent[], traceparents?: ReadonlyMap<string, string>): Promise<void> {
    const written = this.writing.then(() => this.write(events, traceparents));
    this.writing = written.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BrokerUnavailableError(`RabbitMQ did not confirm within ${this.confirmTimeoutMs} ms`)),
        this.confirmTimeoutMs,
      );
    });
    try {
      // Publisher confirms: once the broker has every message of the batch on disk (quorum).
      // waitForConfirms covers what was written up to its call, so this batch and earlier ones.
      await Promise.race([written.then(() => this.channel.waitForConfirms()), this.lost, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async write(events: RawEvent[], traceparents: ReadonlyMap<string, string> | undefined): Promise<void> {
    for (const event of events) {
      const accepted = this.channel.publish(this.exchange, routingKeyOf(event), encodeEvent(event), {
        persistent: true,
        messageId: event.eventId,
        type: event.eventType,
        contentType: 'application/json',
        timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
        correlationId: typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : undefined,
        headers: eventHeaders(event, traceparents?.get(event.eventId)),
      });
      if (!accepted) await new Promise((resolve) => this.channel.once('drain', resolve));
    }
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

/** Buffers what the broker pushes (up to the prefetch) and hands it out in order. */
class RabbitPartitionSource extends BufferedPartitionSource<ConsumeMessage> {
  private channel: Channel | undefined;

  constructor(
    private readonly connection: ChannelModel,
    private readonly names: Names,
    private readonly queue: string,
    /** The consumer partition's topology; none for the unrouted queue. */
    private readonly topology: ConsumerTopology | undefined,
    private readonly prefetch: number,
  ) {
    super();
  }

  async open(): Promise<void> {
    const channel = await this.connection.createChannel();
    channel.on('error', () => undefined);
    channel.on('close', () => {
      if (this.channel === channel) this.buffer.fail(new BrokerUnavailableError('RabbitMQ channel closed'));
    });
    await declare(this.connection, this.names, this.topology ? [this.topology] : []);
    await channel.prefetch(this.prefetch);
    this.channel = channel;
    await channel.consume(
      this.queue,
      (message) => {
        if (!message) return this.buffer.fail(new BrokerUnavailableError(`Queue ${this.queue} was deleted`));
        const traceparent = message.properties.headers?.traceparent as string | Buffer | undefined;
        this.buffer.push(
          decodeMessage(message.content, message.properties.messageId, traceparent ? String(traceparent) : undefined),
          message,
        );
      },
      { noAck: false },
    );
  }

  async ack(deliveries: Delivery[]): Promise<void> {
    const done = this.buffer.takeAcknowledged(deliveries.length);
    // Cumulative ack of everything up to the last one handled.
    if (done.length) this.channel!.ack(done.at(-1)!, true);
  }

  async rewind(): Promise<void> {
    // Closing the channel returns every unacknowledged message to the queue, in order.
    await this.closeChannel();
    await this.open();
  }

  private async closeChannel(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    this.buffer.drain();
    await channel?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.closeChannel();
    await this.connection.close().catch(() => undefined);
  }
}

export function createRabbitMqTransport(options: RabbitMqOptions): Transport {
  const names: Names = {
    exchange: options.exchange ?? DEFAULT_RABBIT_NAMES.exchange,
    queuePrefix: options.queuePrefix ?? DEFAULT_RABBIT_NAMES.queuePrefix,
  };
  const openSource = async (queue: string, topology: ConsumerTopology | undefined) => {
    const connection = await connect(options.url);
    const source = new RabbitPartitionSource(connection, names, queue, topology, options.prefetch ?? 256);
    try {
      await source.open();
    } catch (err) {
      await source.close();
      throw err instanceof BrokerUnavailableError ? err : new BrokerUnavailableError((err as Error).message);
    }
    return source;
  };
  return {
    kind: 'rabbitmq',
    needsRelay: true,
    relayPipelineDepth: 2,
    async createPublisher(topology) {
      const connection = await connect(options.url);
      try {
        await declare(connection, names, topology, true);
        const channel = await connection.createConfirmChannel();
        channel.on('error', () => undefined);
        return new RabbitPublisher(connection, channel, names.exchange, options.confirmTimeoutMs ?? 30_000);
      } catch (err) {
        await connection.close().catch(() => undefined);
        throw err instanceof BrokerUnavailableError ? err : new BrokerUnavailableError((err as Error).message);
      }
    },
    openPartition: (topology, partition) =>
      openSource(queueName(topology.consumer, partition, names.queuePrefix), topology),
    openUnrouted: () => openSource(unroutedQueue(names.queuePrefix), undefined),
    async close() {},
  };
}
