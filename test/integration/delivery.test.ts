import { Registry } from 'prom-client';
import { registerDeliveryGauges } from '../../src/delivery/metrics';
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

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const WRITERS = 8;
const STREAMS_PER_WRITER = 10;
const EVENTS_PER_STREAM = 25;
const LATE = 5;
const LATE_EVENTS = 3;

describe.each(transportsUnderTest())('delivery over %s', (kind) => {
  let db: TestDatabase;
  let delivery: Delivery | undefined;
  const settings = isolatedTransport(kind);
  const consumer = recorder();

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query(RECORDER_SQL);
  });
  afterAll(async () => {
    await delivery?.stop();
    await removeBrokerResources(settings, [consumer]).catch(() => undefined);
    await db?.drop();
  });

  test('concurrent writers and late-committing transactions: every event once, in order per stream', async () => {
    delivery = await startDelivery({
      pool: db.pool,
      connectionString: db.url,
      transport: settings,
      consumers: [consumer],
      topology: [consumer],
      relay: true,
      logger,
      intervals: { pollMs: 250, rebalanceMs: 250, standbyMs: 250 },
    });
    const onTime = WRITERS * STREAMS_PER_WRITER * EVENTS_PER_STREAM;
    const countEvents = async () =>
      (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n;

    // Transactions that take their positions first and commit after many later ones.
    const late = Array.from({ length: LATE }, async (_, i) => {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        await appendApproved(client, newStreamId(), 0, LATE_EVENTS);
        await waitFor(async () => (await countEvents()) >= ((i + 1) * onTime) / (LATE + 1), {
          timeoutMs: 60_000,
          description: 'later transactions to commit',
        });
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    });
    const writers = Array.from({ length: WRITERS }, async () => {
      const streams = Array.from({ length: STREAMS_PER_WRITER }, newStreamId);
      for (let v = 0; v < EVENTS_PER_STREAM; v++) {
        for (const stream of streams) await appendApproved(db.pool, stream, v);
      }
    });
    await Promise.all([...writers, ...late]);

    const expected = onTime + LATE * LATE_EVENTS;
    // The late transactions really took positions below events that committed before them.
    const { rows } = await db.pool.query<{ overtaken: number }>(
      `SELECT count(*)::int AS overtaken FROM events o WHERE o.global_position > (
         SELECT min(global_position) FROM events WHERE stream_id IN (
           SELECT stream_id FROM events GROUP BY stream_id HAVING count(*) = $1))
       AND o.transaction_id < (SELECT max(transaction_id) FROM events)`,
      [LATE_EVENTS],
    );
    expect(rows[0]!.overtaken).toBeGreaterThan(100);

    await waitFor(
      async () => {
        const e = await recordedEffects(db.pool, consumer.name);
        return e.distinct >= expected;
      },
      {
        timeoutMs: 120_000,
        description: `${expected} events to reach the consumer over ${kind}`,
      },
    );
    const effects = await recordedEffects(db.pool, consumer.name);
    expect(effects.doubled).toEqual([]);
    expect(effects.outOfOrder).toEqual([]);
    expect(effects.total).toBe(expected);

    // Caught up: the relay's backlog and the consumer's lag read zero, measured against the log.
    const registry = new Registry();
    registerDeliveryGauges(registry, db.pool, kind);
    const metrics = await waitFor(
      async () => {
        const text = await registry.metrics();
        return /saga_consumer_lag_events\{consumer="recorder",partition="0"\} 0\n/.test(text) && text;
      },
      { timeoutMs: 10_000, description: 'the consumer lag to read 0' },
    );
    if (kind !== 'postgres') expect(metrics).toContain(`saga_relay_backlog_events{transport="${kind}"} 0\n`);
  });
});
