import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { appendToStream, EVENTS_CHANNEL } from '../../src/store/event-store';
import { createPool, withTransaction, type Pool } from '../../src/store/pool';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

let db: TestDatabase;
let listener: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
});
afterAll(async () => {
  await listener?.end();
  await db?.drop();
});

const append = (pool: Pool, streamId: string) =>
  withTransaction(pool, (tx) => appendToStream(tx, streamId, 0, [{ eventType: 'order.created', payload: {} }]));

const countEvents = async (streams: string[], in_: TestDatabase = db) =>
  (await in_.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE stream_id = ANY($1)', [streams]))
    .rows[0]!.n;

describe('the wake-up after appends', () => {
  it('a reader that reads only when notified sees every commit of a burst, from fewer notifications than commits', async () => {
    const streams = Array.from({ length: 40 }, () => `order-${randomUUID()}`);
    let notifications = 0;
    // The reader: reads once per notification, never polls.
    let seen = 0;
    let reading = Promise.resolve();
    listener.on('notification', () => {
      notifications++;
      reading = reading.then(async () => {
        seen = Math.max(seen, await countEvents(streams));
      });
    });
    // A burst of single-event commits on one pool, 8 at a time.
    for (let i = 0; i < streams.length; i += 8) {
      await Promise.all(
        streams
          .slice(i, i + 8)
          .map((s) =>
            withTransaction(db.pool, (tx) => appendToStream(tx, s, 0, [{ eventType: 'order.created', payload: {} }])),
          ),
      );
    }
    // Every commit, the last one included, is followed by a notification sent after it.
    await waitFor(() => seen === streams.length, { timeoutMs: 10_000, description: 'a notified read of every event' });
    expect(notifications).toBeGreaterThan(0);
    // Commits landing while a notification is in flight share the next one.
    expect(notifications).toBeLessThan(streams.length);
  });

  it('a commit landing while the previous notification is still in flight gets one of its own after it', async () => {
    // A database of its own, so no notification of the test before (its pool's follow-ups) arrives here.
    const own = await createTestDatabase();
    const ownListener = new pg.Client({ connectionString: own.url });
    await ownListener.connect();
    await ownListener.query(`LISTEN ${EVENTS_CHANNEL}`);
    // A pool whose notifications complete 300 ms after PostgreSQL ran them (a slow round trip).
    const pool = createPool(own.url, { max: 4 });
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    (pool as { query: unknown }).query = async (...args: unknown[]) => {
      const result = await query(...args);
      if (String(args[0]).includes('pg_notify')) await new Promise((resolve) => setTimeout(resolve, 300));
      return result;
    };
    const [first, second] = [`order-${randomUUID()}`, `order-${randomUUID()}`];
    let notifications = 0;
    let seen = 0;
    let reading = Promise.resolve();
    ownListener.on('notification', () => {
      notifications++;
      reading = reading.then(async () => {
        seen = Math.max(seen, await countEvents([first, second], own));
      });
    });
    try {
      await append(pool, first);
      await waitFor(() => notifications === 1 && seen === 1, {
        timeoutMs: 10_000,
        description: "the first commit's notification",
      });
      // The first notification ran before this commit but has not completed yet.
      await append(pool, second);
      await waitFor(() => seen === 2, { timeoutMs: 10_000, description: 'a notification after the second commit' });
    } finally {
      await pool.end();
      await ownListener.end();
      await own.drop();
    }
  });
});
