import { randomUUID } from 'node:crypto';
import { createActivities } from '../../src/activities';
import { StreamVersionConflictError, appendToStream } from '../../src/store/event-store';
import { withTransaction } from '../../src/store/pool';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

let db: TestDatabase;
let temporal: TestTemporal;

beforeAll(async () => {
  db = await createTestDatabase();
  temporal = await connectTestTemporal();
  await temporal.startWorker({ pool: db.pool });
});
afterAll(async () => {
  await temporal?.close();
  await db?.drop();
});

const count = async (sql: string, params: unknown[]) =>
  Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) q`, params)).rows[0]!.n);

describe('order saga slice on the real Temporal server and PostgreSQL', () => {
  it('runs the workflow, whose activity writes the order row and appends order.created', async () => {
    const orderId = randomUUID();
    const correlationId = randomUUID();
    const result = await temporal.client.workflow.execute('orderSaga', {
      workflowId: `order-${orderId}`,
      taskQueue: temporal.taskQueue,
      args: [{ orderId, customerId: 'cust-1', items: [{ sku: 'SKU-0001', quantity: 2 }], correlationId }],
    });
    expect(result).toEqual({ orderId, status: 'CREATED' });

    const order = await db.pool.query('SELECT customer_id FROM orders WHERE order_id = $1', [orderId]);
    expect(order.rows).toEqual([{ customer_id: 'cust-1' }]);

    const events = await db.pool.query(
      `SELECT stream_id, stream_version, event_type, payload, metadata, transaction_id::text AS tx
         FROM events WHERE stream_id = $1`,
      [`order-${orderId}`],
    );
    expect(events.rows).toHaveLength(1);
    const [event] = events.rows;
    expect(event).toMatchObject({
      stream_version: 1,
      event_type: 'order.created',
      payload: { orderId, customerId: 'cust-1', items: [{ sku: 'SKU-0001', quantity: 2 }] },
      metadata: { correlationId, causationId: `order-${orderId}/create-order` },
    });
    expect(BigInt(event.tx)).toBeGreaterThan(0n);
  });

  it('applies a command once: a retry with the same commandId returns the first result and writes nothing', async () => {
    const { createOrder } = createActivities({ pool: db.pool });
    const orderId = randomUUID();
    const input = { commandId: `order-${orderId}/create-order`, orderId, customerId: 'c', items: [], correlationId: 'x' };
    const [a, b] = await Promise.all([createOrder(input), createOrder(input)]);
    const c = await createOrder(input);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(await count('SELECT 1 FROM orders WHERE order_id = $1', [orderId])).toBe(1);
    expect(await count('SELECT 1 FROM events WHERE stream_id = $1', [`order-${orderId}`])).toBe(1);
  });

  it('is atomic: when the event append fails after the row write, neither the row nor the event remains', async () => {
    const { createOrder } = createActivities({ pool: db.pool });
    const orderId = randomUUID();
    const streamId = `order-${orderId}`;
    // Another writer got version 1 of this stream first, so this append conflicts.
    await withTransaction(db.pool, (tx) =>
      appendToStream(tx, streamId, 0, [{ eventType: 'test.competing_write', payload: {} }]),
    );
    const input = { commandId: `${streamId}/create-order`, orderId, customerId: 'c', items: [], correlationId: 'x' };

    await expect(createOrder(input)).rejects.toBeInstanceOf(StreamVersionConflictError);

    expect(await count('SELECT 1 FROM orders WHERE order_id = $1', [orderId])).toBe(0);
    expect(await count(`SELECT 1 FROM events WHERE stream_id = $1 AND event_type = 'order.created'`, [streamId])).toBe(0);
    expect(await count('SELECT 1 FROM processed_commands WHERE command_id = $1', [input.commandId])).toBe(0);
  });
});
