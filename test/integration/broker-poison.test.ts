import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { listDeadLetters } from '../../src/delivery/dead-letters';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import { createLogger } from '../../src/logger';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import {
  appendApproved,
  isolatedTransport,
  newStreamId,
  RECORDER_SQL,
  recordedEffects,
  recorder,
  removeBrokerResources,
  transportsUnderTest,
} from '../helpers/delivery';

// Messages on a broker that are not events of ours — not JSON, or JSON that is not an event
// envelope — are dead-lettered as `malformed` with the reason, and the consumer keeps going.

const brokers = transportsUnderTest().filter((k) => k !== 'postgres');
// Without a broker (allowed only when CI is not true) the file says why instead of running nothing;
// describe.each refuses an empty table.
if (brokers.length === 0) test.skip('no broker reachable (AMQP_URL / NATS_URL)', () => undefined);

describe.each(brokers)('poison messages over %s', (kind) => {
  let db: TestDatabase;
  let delivery: Delivery | undefined;
  const settings = isolatedTransport(kind);
  const consumer = recorder({ name: 'poisoned' });

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query(RECORDER_SQL);
    delivery = await startDelivery({
      pool: db.pool,
      connectionString: db.url,
      transport: settings,
      consumers: [consumer],
      topology: [consumer],
      relay: true,
      logger: createLogger('silent'),
      intervals: { pollMs: 250, rebalanceMs: 250, standbyMs: 250 },
    });
    // The consumer's queue / durable exists once its partition is claimed.
    await waitFor(() => delivery!.runner!.ownership().poisoned?.length === 1 || undefined, { timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await delivery?.stop();
    await removeBrokerResources(settings, [consumer]).catch(() => undefined);
    await db?.drop();
  });

  async function publishRaw(body: string, messageId: string): Promise<void> {
    if (kind === 'rabbitmq') {
      const connection = await amqp.connect(settings.amqpUrl!);
      const channel = await connection.createConfirmChannel();
      channel.publish(settings.names!.exchange!, 'order.approved', Buffer.from(body), { messageId, persistent: true });
      await channel.waitForConfirms();
      await connection.close();
    } else {
      const nc = await connect({ servers: settings.natsUrl! });
      await jetstream(nc).publish(`${settings.names!.subjectPrefix}.order.approved`, body, { msgID: messageId });
      await nc.close();
    }
  }

  test('not JSON, and JSON that is no event envelope: dead-lettered with the reason; events keep flowing', async () => {
    const notJson = randomUUID();
    const notEnvelope = randomUUID();
    await publishRaw('this is not json', notJson);
    await publishRaw(JSON.stringify({ hello: 'world' }), notEnvelope);
    const stream = newStreamId();
    await appendApproved(db.pool, stream, 0, 3);

    const letters = await waitFor(
      async () => {
        const found = await listDeadLetters(db.pool, { consumer: 'poisoned' });
        return found.length >= 2 ? found : undefined;
      },
      { timeoutMs: 30_000, description: 'two malformed dead letters' },
    );
    const byId = new Map(letters.map((l) => [l.eventId, l]));
    expect(byId.get(notJson)).toMatchObject({ reason: 'malformed', error: expect.stringContaining('not JSON') });
    expect(byId.get(notEnvelope)).toMatchObject({
      reason: 'malformed',
      error: expect.stringContaining('not an event envelope'),
    });
    // A malformed message parks nothing: the real events after it take effect.
    await waitFor(async () => (await recordedEffects(db.pool, 'poisoned')).distinct === 3 || undefined, {
      timeoutMs: 30_000,
      description: 'the valid events to take effect',
    });
    const effects = await recordedEffects(db.pool, 'poisoned');
    expect(effects.outOfOrder).toEqual([]);
    expect(effects.doubled).toEqual([]);
  });
});
