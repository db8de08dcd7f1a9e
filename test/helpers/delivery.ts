import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import { defineConsumer, type ConsumerDefinition } from '../../src/delivery/consumer';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { recordDeadLetter } from '../../src/delivery/inbox';
import { appendToStream } from '../../src/store/event-store';
import { withTransaction, type Pool, type Tx } from '../../src/store/pool';
import { unroutedExchange, unroutedQueue } from '../../src/delivery/transports/rabbitmq';
import type { TransportKind } from '../../src/delivery/contract';

/** The transports this run can exercise: postgres always, brokers when reachable (CI=true requires them). */
export function transportsUnderTest(): TransportKind[] {
  return [
    'postgres',
    ...(process.env.SAGA_TEST_AMQP_URL ? (['rabbitmq'] as const) : []),
    ...(process.env.SAGA_TEST_NATS_URL ? (['nats'] as const) : []),
  ];
}

/** Settings with broker resources of their own, so runs never see each other's messages. */
export function isolatedTransport(kind: TransportKind, natsUrl = process.env.SAGA_TEST_NATS_URL): TransportSettings {
  const tag = randomBytes(4).toString('hex');
  return {
    kind,
    amqpUrl: process.env.SAGA_TEST_AMQP_URL,
    natsUrl,
    names: {
      exchange: `test.${tag}.events`,
      queuePrefix: `test.${tag}`,
      stream: `TEST_${tag}`,
      subjectPrefix: `test${tag}`,
    },
  };
}

/** Removes what an isolated transport declared on its broker. */
export async function removeBrokerResources(settings: TransportSettings, consumers: ConsumerDefinition[]) {
  if (settings.kind === 'rabbitmq') {
    const connection = await amqp.connect(settings.amqpUrl!);
    const channel = await connection.createChannel();
    for (const c of consumers) {
      for (let p = 0; p < c.partitions; p++) await channel.deleteQueue(`${settings.names!.queuePrefix}.${c.name}.${p}`);
    }
    await channel.deleteQueue(unroutedQueue(settings.names!.queuePrefix));
    await channel.deleteExchange(settings.names!.exchange!);
    await channel.deleteExchange(unroutedExchange(settings.names!.exchange!));
    await connection.close();
  }
  if (settings.kind === 'nats') {
    const nc = await connect({ servers: settings.natsUrl! });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(settings.names!.stream!).catch(() => undefined);
    await nc.close();
  }
}

export const RECORDER_SQL = `CREATE TABLE IF NOT EXISTS test_deliveries (
  seq bigserial PRIMARY KEY, consumer text NOT NULL, event_id uuid NOT NULL, stream_id text NOT NULL,
  stream_version int NOT NULL)`;

export interface RecorderOptions {
  name?: string;
  partitions?: number;
  maxAttempts?: number;
  /** Throw for these event ids (while present in the set). */
  failFor?: Set<string>;
  /** Default: order.approved and order.confirmed. */
  handles?: string[];
  /** Waits this long after recording, inside the delivery's transaction (which then holds an xid). */
  pauseMs?: number;
}

/** A consumer that records every effect it has, so a test can count them and check their order. */
export function recorder(options: RecorderOptions = {}): ConsumerDefinition {
  const name = options.name ?? 'recorder';
  return defineConsumer({
    name,
    handles: options.handles ?? ['order.approved', 'order.confirmed'],
    partitions: options.partitions ?? 1,
    maxAttempts: options.maxAttempts ?? 3,
    backoff: { initialMs: 10, maxMs: 50 },
    async handle(event, tx) {
      if (options.failFor?.has(event.eventId)) throw new Error(`recorder refuses ${event.eventId}`);
      await tx.query(
        'INSERT INTO test_deliveries (consumer, event_id, stream_id, stream_version) VALUES ($1, $2, $3, $4)',
        [name, event.eventId, event.streamId, event.version],
      );
      if (options.pauseMs) await sleep(options.pauseMs);
    },
  });
}

export const newStreamId = () => `order-${randomUUID()}`;

/** Appends `count` valid events to a stream in one transaction (or the caller's). */
export async function appendApproved(db: Pool | Tx, streamId: string, fromVersion: number, count = 1) {
  const orderId = streamId.slice('order-'.length);
  const write = (tx: Tx) =>
    appendToStream(
      tx,
      streamId,
      fromVersion,
      Array.from({ length: count }, () => ({ eventType: 'order.approved', payload: { orderId } })),
    );
  return 'release' in db ? write(db as Tx) : withTransaction(db as Pool, write);
}

/** Effects recorded per event, and whether each stream's effects came in version order. */
export async function recordedEffects(pool: Pool, consumer: string) {
  const { rows } = await pool.query<{ event_id: string; stream_id: string; stream_version: number }>(
    'SELECT event_id, stream_id, stream_version FROM test_deliveries WHERE consumer = $1 ORDER BY seq',
    [consumer],
  );
  const perEvent = new Map<string, number>();
  const lastVersion = new Map<string, number>();
  const outOfOrder: string[] = [];
  for (const r of rows) {
    perEvent.set(r.event_id, (perEvent.get(r.event_id) ?? 0) + 1);
    const last = lastVersion.get(r.stream_id) ?? 0;
    if (r.stream_version !== last + 1) outOfOrder.push(`${r.stream_id}: v${r.stream_version} after v${last}`);
    lastVersion.set(r.stream_id, r.stream_version);
  }
  return {
    total: rows.length,
    distinct: perEvent.size,
    doubled: [...perEvent].filter(([, n]) => n > 1).map(([id]) => id),
    outOfOrder,
  };
}

/** Records an open dead letter of the notifier for a made-up event (tooling tests); returns its id. */
export async function openDeadLetter(
  pool: Pool,
  error = 'EventSchemaViolationError: orderId Invalid input',
): Promise<number> {
  const eventId = randomUUID();
  const { id } = await withTransaction(pool, (tx) =>
    recordDeadLetter(tx, {
      consumer: 'notifier',
      eventId,
      streamId: `order-${eventId}`,
      globalPosition: 1,
      eventType: 'order.confirmed',
      schemaVersion: 1,
      event: { eventId },
      reason: 'invalid_payload',
      error,
      attempts: 1,
    }),
  );
  return id!;
}

/** Writes a row straight into `events`, bypassing the store's validation (a poison event); returns its id. */
export async function insertRawEvent(
  pool: Pool,
  streamId: string,
  eventType: string,
  schemaVersion: number,
  payload: unknown,
  streamVersion = 1,
): Promise<string> {
  const eventId = randomUUID();
  await pool.query(
    `INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, payload)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
    [eventId, streamId, streamVersion, eventType, schemaVersion, JSON.stringify(payload)],
  );
  return eventId;
}
