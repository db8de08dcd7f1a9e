import { randomUUID } from 'node:crypto';
import { createActivities } from '../../src/activities';
import { runWithCorrelation } from '../../src/correlation/context';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { StreamVersionConflictError, appendToStream } from '../../src/store/event-store';
import { createPool, withTransaction, type Pool } from '../../src/store/pool';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { ADDRESS } from '../helpers/orders';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

// Activities run inside the correlation their workflow sends as headers; here, set directly.
const correlated = <T>(fn: () => Promise<T>) => runWithCorrelation({ correlationId: 'corr-test' }, fn);

/** Input of the create-order command for `orderId` (one line of SKU-0001 unless given). */
const createOrderInput = (
  orderId: string,
  items: { sku: string; quantity: number }[] = [{ sku: 'SKU-0001', quantity: 1 }],
) => ({
  commandId: `order-${orderId}/create-order`,
  orderId,
  customerId: 'c',
  items,
  shippingAddress: ADDRESS,
  causationId: 'request-1',
});

/** Every statement sent on the pool's checked-out connections (BEGIN and COMMIT included), in order. */
function recordStatements(pool: Pool): string[] {
  const sent: string[] = [];
  // The pool hands the same client out again: each is wrapped once, or a statement counts twice.
  const wrapped = new WeakSet<object>();
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<import('pg').PoolClient>;
  (pool as { connect: unknown }).connect = async (...args: unknown[]) => {
    // pool.query checks out with a callback: not a transaction, left alone.
    if (args.length > 0) return connect(...args);
    const client = await connect();
    if (wrapped.has(client)) return client;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
      sent.push(text.trim().split(/\s+/).slice(0, 3).join(' '));
      return query(...args);
    };
    return client;
  };
  return sent;
}

const count = async (sql: string, params: unknown[]) =>
  Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) q`, params)).rows[0]!.n);

describe('order activities on the real PostgreSQL', () => {
  it('applies a command once: a retry with the same commandId returns the first result and writes nothing', async () => {
    const { createOrder } = createActivities(simulatedActivityDeps(db.pool));
    const orderId = randomUUID();
    const input = createOrderInput(orderId);
    const [a, b] = await correlated(() => Promise.all([createOrder(input), createOrder(input)]));
    const c = await correlated(() => createOrder(input));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(await count('SELECT 1 FROM orders WHERE order_id = $1', [orderId])).toBe(1);
    expect(await count('SELECT 1 FROM events WHERE stream_id = $1', [`order-${orderId}`])).toBe(1);
  });

  it('an activity is BEGIN, claim + stream read, its own statements, append + stored result, COMMIT', async () => {
    const pool = createPool(db.url, { max: 2 });
    try {
      const sent = recordStatements(pool);
      const { createOrder } = createActivities(simulatedActivityDeps(pool));
      const input = createOrderInput(randomUUID());
      const result = await correlated(() => createOrder(input));
      // Its own statements: the catalog's prices and the orders row.
      expect(sent).toEqual([
        'BEGIN',
        'WITH claim AS',
        'SELECT sku, price_cents',
        'INSERT INTO orders',
        'WITH completed AS',
        'COMMIT',
      ]);
      // The append stored the result, naming the event it appended.
      const { rows } = await db.pool.query<{ result: { lastEventId: string } }>(
        'SELECT result FROM processed_commands WHERE command_id = $1',
        [input.commandId],
      );
      expect(rows[0]!.result).toEqual(result);
      expect(await count('SELECT 1 FROM events WHERE event_id = $1', [result.lastEventId])).toBe(1);
      // A retry: the claim finds the command processed and reads the stored result, nothing else.
      sent.length = 0;
      expect(await correlated(() => createOrder(input))).toEqual(result);
      expect(sent).toEqual(['BEGIN', 'WITH claim AS', 'SELECT result FROM', 'COMMIT']);
    } finally {
      await pool.end();
    }
  });

  it('is atomic: when the event append fails after the row write, neither the row nor the event remains', async () => {
    const { createOrder } = createActivities(simulatedActivityDeps(db.pool));
    const orderId = randomUUID();
    const streamId = `order-${orderId}`;
    // A real database failure on the event insert, after the orders row was written.
    await db.pool.query(`
      CREATE FUNCTION fail_append() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure appending to %', NEW.stream_id; END $$;
      CREATE TRIGGER fail_append BEFORE INSERT ON events
        FOR EACH ROW WHEN (NEW.stream_id = '${streamId}') EXECUTE FUNCTION fail_append();`);
    const input = {
      commandId: `${streamId}/create-order`,
      orderId,
      customerId: 'c',
      items: [{ sku: 'SKU-0001', quantity: 1 }],
      shippingAddress: ADDRESS,
      causationId: 'request-1',
    };
    try {
      await expect(correlated(() => createOrder(input))).rejects.toThrow(/injected failure/);
      expect(await count('SELECT 1 FROM orders WHERE order_id = $1', [orderId])).toBe(0);
      expect(await count('SELECT 1 FROM events WHERE stream_id = $1', [streamId])).toBe(0);
      expect(await count('SELECT 1 FROM processed_commands WHERE command_id = $1', [input.commandId])).toBe(0);
    } finally {
      await db.pool.query('DROP TRIGGER fail_append ON events; DROP FUNCTION fail_append();');
    }
    // With the fault gone, the retry applies the command in full.
    await correlated(() => createOrder(input));
    expect(await count('SELECT 1 FROM orders WHERE order_id = $1', [orderId])).toBe(1);
    expect(await count('SELECT 1 FROM events WHERE stream_id = $1', [streamId])).toBe(1);
  });

  it('refuses to append when another writer moved the stream on (optimistic concurrency)', async () => {
    const streamId = `order-${randomUUID()}`;
    await withTransaction(db.pool, (tx) =>
      appendToStream(tx, streamId, 0, [{ eventType: 'order.created', payload: {} }]),
    );
    await expect(
      withTransaction(db.pool, (tx) => appendToStream(tx, streamId, 0, [{ eventType: 'order.created', payload: {} }])),
    ).rejects.toBeInstanceOf(StreamVersionConflictError);
    expect(await count('SELECT 1 FROM events WHERE stream_id = $1', [streamId])).toBe(1);
  });

  it('an event that breaks its schema is a programming error: it fails loudly and nothing is written', async () => {
    const { createOrder } = createActivities(simulatedActivityDeps(db.pool));
    const orderId = randomUUID();
    // An empty item list passes the decider but not the order.created schema (min 1 item).
    const input = createOrderInput(orderId, []);
    await expect(correlated(() => createOrder(input))).rejects.toThrow(/order\.created v2 payload is invalid: items/);
    expect(await count('SELECT 1 FROM orders WHERE order_id = $1', [orderId])).toBe(0);
    expect(await count('SELECT 1 FROM events WHERE stream_id = $1', [`order-${orderId}`])).toBe(0);
  });

  it('refuses to run a command without a correlation id', async () => {
    const { createOrder } = createActivities(simulatedActivityDeps(db.pool));
    const orderId = randomUUID();
    const input = createOrderInput(orderId);
    await expect(createOrder(input)).rejects.toThrow(/no correlation id/);
  });
});
