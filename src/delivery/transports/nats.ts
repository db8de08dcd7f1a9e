import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { RawEvent } from '../contract';
import { BufferedPartitionSource } from './buffered-source';
import { decodeMessage, encodeEvent, eventHeaders } from './codec';
import {
  consumerConfig,
  DEFAULT_NATS_NAMES,
  DUPLICATE_WINDOW_MS,
  durableOf,
  streamConfig,
  subjectOf,
  type Durable,
  type NatsNames,
} from './nats-topology';
import {
  BrokerUnavailableError,
  type ConsumerTopology,
  type Delivery,
  type Publisher,
  type Transport,
} from '../contract';

export { DUPLICATE_WINDOW_MS, durableName, partitionFilter, STREAM, SUBJECT_PREFIX, subjectOf } from './nats-topology';

export interface NatsOptions {
  url: string;
  /** Stream name. Default `SAGA_EVENTS`. */
  stream?: string;
  /** Subjects are `<prefix>.<event type>`. Default `events`. */
  subjectPrefix?: string;
  /** How long a re-published event is recognised as a duplicate by the server. Default 2 min. */
  duplicateWindowMs?: number;
  /** Messages a consumer holds unacknowledged. Default 256. */
  maxMessages?: number;
}

async function connectNats(url: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: url,
      name: 'saga',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5000,
    });
  } catch (err) {
    throw new BrokerUnavailableError(`NATS is not reachable: ${(err as Error).message}`);
  }
}

type Names = NatsNames;

async function ensureStream(nc: NatsConnection, names: Names, duplicateWindowMs: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(names.stream);
  } catch {
    await jsm.streams.add(streamConfig(names, duplicateWindowMs));
  }
}

async function ensureConsumer(nc: NatsConnection, names: Names, durable: Durable): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.consumers.info(names.stream, durable.name);
  } catch {
    await jsm.consumers.add(names.stream, {
      ...consumerConfig(durable.name, durable.filter),
      deliver_policy: DeliverPolicy.All,
    });
  }
}

/**
 * Called by a partition's new owner. Messages the previous owner received but never
 * acknowledged (it died holding them) would only come back after the ack wait, behind newer
 * ones: that breaks the order per stream. So the durable consumer is recreated to start right
 * after its ack floor; what the previous owner did handle comes again and the inbox absorbs it.
 * A durable of an earlier version (filtering on every subject) moves to its partition's
 * filter the same way, once nothing is pending: until then it may hold messages an earlier
 * relay published on subjects without buckets, which the new filter would pass over.
 */
async function resumeFromAckFloor(nc: NatsConnection, names: Names, durable: Durable): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.consumers.info(names.stream, durable.name);
  const refilter = info.config.filter_subject !== durable.filter && info.num_pending === 0;
  if (info.num_ack_pending === 0 && !refilter) return;
  const filter = refilter ? durable.filter : (info.config.filter_subject ?? durable.filter);
  await jsm.consumers.delete(names.stream, durable.name);
  await jsm.consumers.add(names.stream, {
    ...consumerConfig(durable.name, filter),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: info.ack_floor.stream_seq + 1,
  });
}

const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof BrokerUnavailableError
      ? err
      : new BrokerUnavailableError(`${what}: ${(err as Error).message}`);
  }
};

class NatsPublisher implements Publisher {
  /** Rejects when the connection drops: pending PubAcks would otherwise wait out their timeout. */
  private readonly lost: Promise<never>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {
    this.lost = new Promise<never>((_, reject) => {
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type === 'disconnect' || status.type === 'close') {
            return reject(new BrokerUnavailableError(`NATS connection lost (${status.type})`));
          }
        }
      })();
      void nc.closed().then(() => reject(new BrokerUnavailableError('NATS connection closed')));
    });
    this.lost.catch(() => undefined);
  }

  async publish(events: RawEvent[], traceparents?: ReadonlyMap<string, string>): Promise<void> {
    const js = jetstream(this.nc);
    // Published concurrently, each awaited for its PubAck; Nats-Msg-Id makes a re-publish
    // after a crash a server-side duplicate instead of a second message.
    await wrap('NATS publish failed', () => Promise.race([this.lost, this.sendAll(js, events, traceparents)]));
  }

  private sendAll(
    js: ReturnType<typeof jetstream>,
    events: RawEvent[],
    traceparents: ReadonlyMap<string, string> | undefined,
  ) {
    return Promise.all(
      events.map((event) => {
        const h = headers();
        for (const [k, v] of Object.entries(eventHeaders(event, traceparents?.get(event.eventId)))) h.set(k, v);
        return js.publish(subjectOf(event, this.prefix), encodeEvent(event), {
          msgID: event.eventId,
          headers: h,
          timeout: 10_000,
        });
      }),
    );
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }
}

class NatsPartitionSource extends BufferedPartitionSource<JsMsg> {
  private messages: ConsumerMessages | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
    private readonly durable: string,
    private readonly maxMessages: number,
  ) {
    super();
  }

  async open(): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(this.stream, this.durable);
    const messages = await consumer.consume({ max_messages: this.maxMessages });
    this.messages = messages;
    // Pump everything the server sends into our own ordered buffer.
    void (async () => {
      try {
        for await (const message of messages) {
          const messageId = message.headers?.get('Nats-Msg-Id') || undefined;
          const traceparent = message.headers?.get('traceparent') || undefined;
          this.buffer.push(decodeMessage(message.data, messageId, traceparent), message);
        }
        if (this.messages === messages) this.buffer.fail(new BrokerUnavailableError('NATS consumer stopped'));
      } catch (err) {
        if (this.messages === messages) this.buffer.fail(new BrokerUnavailableError((err as Error).message));
      }
    })();
  }

  async ack(deliveries: Delivery[]): Promise<void> {
    for (const message of this.buffer.takeAcknowledged(deliveries.length)) message.ack();
  }

  // rewind/stop/close look like RabbitMQ's on purpose: the broker's half differs (negative acks
  // and a new subscription here, a closed channel there); the shared half is DeliveryBuffer.
  async rewind(): Promise<void> {
    // Negative acks in order make the unhandled messages the next ones delivered.
    for (const message of this.buffer.drain()) message.nak();
    await this.stop();
    await this.open();
  }

  private async stop(): Promise<void> {
    const messages = this.messages;
    this.messages = undefined;
    this.buffer.drain();
    await messages?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.stop();
    await this.nc.close().catch(() => undefined);
  }
}

export function createNatsTransport(options: NatsOptions): Transport {
  const duplicateWindowMs = options.duplicateWindowMs ?? DUPLICATE_WINDOW_MS;
  const names: Names = {
    stream: options.stream ?? DEFAULT_NATS_NAMES.stream,
    prefix: options.subjectPrefix ?? DEFAULT_NATS_NAMES.prefix,
  };
  return {
    kind: 'nats',
    needsRelay: true,
    relayPipelineDepth: 1,
    async createPublisher(topology) {
      const nc = await connectNats(options.url);
      try {
        await wrap('NATS stream set-up failed', async () => {
          await ensureStream(nc, names, duplicateWindowMs);
          for (const t of topology) {
            for (let p = 0; p < t.partitions; p++) await ensureConsumer(nc, names, durableOf(names, t, p));
          }
        });
      } catch (err) {
        await nc.close().catch(() => undefined);
        throw err;
      }
      return new NatsPublisher(nc, names.prefix);
    },
    async openPartition(topology: ConsumerTopology, partition: number) {
      const nc = await connectNats(options.url);
      const durable = durableOf(names, topology, partition);
      const source = new NatsPartitionSource(nc, names.stream, durable.name, options.maxMessages ?? 256);
      try {
        await wrap('NATS consumer set-up failed', async () => {
          await ensureStream(nc, names, duplicateWindowMs);
          await ensureConsumer(nc, names, durable);
          await resumeFromAckFloor(nc, names, durable);
          await source.open();
        });
      } catch (err) {
        await source.close();
        throw err;
      }
      return source;
    },
    async close() {},
  };
}
