import { Registry } from 'prom-client';
import { z } from 'zod';
import { defineConsumer } from '../../src/delivery/consumer';
import {
  DeadLetterStateError,
  listDeadLetters,
  replayDeadLetter,
  type DeadLetter,
} from '../../src/delivery/dead-letters';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import { registerEvents } from '../../src/events/catalog';
import { createLogger } from '../../src/logger';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import {
  appendApproved,
  insertRawEvent,
  isolatedTransport,
  newStreamId,
  RECORDER_SQL,
  recordedEffects,
  recorder,
  removeBrokerResources,
  transportsUnderTest,
} from '../helpers/delivery';

// An event no consumer can read (a type this version does not know, a schema version it does
// not know, a payload its schema refuses) is dead-lettered on every transport and never lost.
// On RabbitMQ an unknown type matches no queue's binding: the exchange's alternate exchange
// keeps it in the unrouted queue, which the runtime drains and counts. Once a version that
// knows the type runs, a replay applies it where a consumer handles it.

const WAIT = { timeoutMs: 60_000 };
const TIMEOUT = 120_000;
const OPERATOR = 'test-operator';

describe.each(transportsUnderTest())('poison events over %s', (kind) => {
  let db: TestDatabase;
  let delivery: Delivery | undefined;
  const registry = new Registry();
  const settings = isolatedTransport(kind);
  const reader = recorder({ name: 'poison-reader' });
  // Handles a type none of the poison events has: the unknown type is all it dead-letters.
  const bystander = defineConsumer({
    name: 'poison-bystander',
    handles: ['order.confirmed'],
    maxAttempts: 1,
    handle: async () => undefined,
  });
  const consumers = [reader, bystander];
  // A type of its own per transport: the second test makes it known to this process.
  const unknownType = `order.teleported_${kind}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query(RECORDER_SQL);
    delivery = await startDelivery({
      pool: db.pool,
      connectionString: db.url,
      transport: settings,
      consumers,
      topology: consumers,
      relay: true,
      registry,
      logger: createLogger('silent'),
      intervals: { pollMs: 250, rebalanceMs: 250, standbyMs: 250 },
    });
    await waitFor(() => consumers.every((c) => delivery!.runner!.ownership()[c.name]?.length === 1) || undefined, {
      timeoutMs: 30_000,
      description: 'both consumers to own their partition',
    });
  });
  afterAll(async () => {
    await delivery?.stop();
    if (kind !== 'postgres') await removeBrokerResources(settings, consumers).catch(() => undefined);
    await db?.drop();
  });

  const lettersOf = async (consumer: string): Promise<DeadLetter[]> =>
    listDeadLetters(db.pool, { consumer, status: 'all', limit: 100 });
  const orderIdOf = (stream: string) => stream.slice('order-'.length);
  const streams = { type: newStreamId(), version: newStreamId(), payload: newStreamId(), after: newStreamId() };
  const ids = { type: '', version: '', payload: '' };

  test(
    'each is dead-lettered with its reason for each consumer it concerns, and later events flow',
    async () => {
      ids.type = await insertRawEvent(db.pool, streams.type, unknownType, 1, {
        orderId: orderIdOf(streams.type),
      });
      ids.version = await insertRawEvent(db.pool, streams.version, 'order.approved', 99, {
        orderId: orderIdOf(streams.version),
      });
      ids.payload = await insertRawEvent(db.pool, streams.payload, 'order.approved', 1, { orderId: 42 });
      await appendApproved(db.pool, streams.after, 0, 2);

      await waitFor(
        async () =>
          (await lettersOf(reader.name)).length === 3 &&
          (await lettersOf(bystander.name)).length === 1 &&
          (await recordedEffects(db.pool, reader.name)).distinct === 2,
        { ...WAIT, description: 'three dead letters of the reader, one of the bystander, two effects' },
      );
      const byEvent = new Map((await lettersOf(reader.name)).map((l) => [l.eventId, l]));
      expect(byEvent.get(ids.type)).toMatchObject({ reason: 'unknown_type', eventType: unknownType });
      expect(byEvent.get(ids.version)).toMatchObject({ reason: 'unknown_version', schemaVersion: 99 });
      expect(byEvent.get(ids.payload)).toMatchObject({ reason: 'invalid_payload' });
      // The bystander does not handle order.approved (it passes those by) but cannot know
      // whether it would handle a type it has never heard of.
      expect(await lettersOf(bystander.name)).toEqual([
        expect.objectContaining({ eventId: ids.type, reason: 'unknown_type', status: 'open' }),
      ]);
      const effects = await recordedEffects(db.pool, reader.name);
      expect(effects.doubled).toEqual([]);

      // Only RabbitMQ routes by type: there the unknown type came through the unrouted queue.
      const unrouted = (await registry.getSingleMetric('saga_broker_unrouted_total')?.get())?.values ?? [];
      const counted = unrouted.find((v) => v.labels.transport === kind)?.value ?? 0;
      if (kind === 'rabbitmq') expect(counted).toBe(1);
      else expect(counted).toBe(0);
    },
    TIMEOUT,
  );

  test(
    'once the type is known, a replay applies it for the consumer that handles it and releases its stream',
    async () => {
      // A later event of the same stream waits behind the dead letter.
      await appendApproved(db.pool, streams.type, 1);
      await waitFor(
        async () => (await lettersOf(reader.name)).find((l) => l.streamId === streams.type && l.status === 'parked'),
        { ...WAIT, description: 'the next event of the stream to be parked behind the unknown one' },
      );

      // What a deployment of the version that knows the type does: the type is in its catalog
      // and the reader handles it.
      registerEvents([
        {
          type: unknownType,
          aggregateType: 'order',
          description: 'An order moved by other means (a type from a newer version).',
          producer: 'test',
          consumers: [reader.name],
          compensation: false,
          versions: [{ schema: z.object({ orderId: z.uuid() }), note: 'First release.' }],
        },
      ]);
      const upgraded = [recorder({ name: reader.name, handles: ['order.approved', unknownType] }), bystander];
      const readerLetter = (await lettersOf(reader.name)).find((l) => l.eventId === ids.type)!;
      const bystanderLetter = (await lettersOf(bystander.name)).find((l) => l.eventId === ids.type)!;

      const replayed = await replayDeadLetter(db.pool, upgraded, readerLetter.id, OPERATOR);
      expect(replayed).toMatchObject({ outcome: 'applied', released: [{ outcome: 'applied' }] });
      // The bystander does not handle it: handled with no effect.
      expect(await replayDeadLetter(db.pool, upgraded, bystanderLetter.id, OPERATOR)).toMatchObject({
        outcome: 'applied',
        released: [],
      });
      const { rows } = await db.pool.query<{ consumer: string; stream_version: number }>(
        'SELECT consumer, stream_version FROM test_deliveries WHERE stream_id = $1 ORDER BY seq',
        [streams.type],
      );
      expect(rows).toEqual([
        { consumer: reader.name, stream_version: 1 },
        { consumer: reader.name, stream_version: 2 },
      ]);
      // A second replay finds nothing to do.
      await expect(replayDeadLetter(db.pool, upgraded, readerLetter.id, OPERATOR)).rejects.toThrow(
        DeadLetterStateError,
      );
    },
    TIMEOUT,
  );
});
