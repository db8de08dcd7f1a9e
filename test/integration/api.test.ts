import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { simulatedActivityDeps } from '../../src/runtime/activity-deps';
import { seedCatalog } from '../../src/store/catalog';
import { createPool } from '../../src/store/pool';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

const ORDER_SETTINGS = { approvalThresholdCents: 100_000, approvalTimeout: '1 hour' };
let db: TestDatabase;
let temporal: TestTemporal;
let app: FastifyInstance;

beforeAll(async () => {
  db = await createTestDatabase();
  temporal = await connectTestTemporal();
  await seedCatalog(db.pool);
  await temporal.startWorker(simulatedActivityDeps(db.pool));
  app = buildApp({ pool: db.pool, temporal: temporal.client, taskQueue: temporal.taskQueue, orders: ORDER_SETTINGS });
});
afterAll(async () => {
  await app?.close();
  await temporal?.close();
  await db?.drop();
});

const validOrder = () => ({
  customerId: `cust-${randomUUID()}`,
  items: [{ sku: 'SKU-0001', quantity: 2 }],
  payment: { token: 'tok_visa' },
  shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
});

describe('HTTP API', () => {
  it('GET /health reports PostgreSQL and Temporal up', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', checks: { postgres: { status: 'up' }, temporal: { status: 'up' } } });
  });

  it('GET /health answers 503 and names PostgreSQL when it is unreachable', async () => {
    const deadPool = createPool('postgres://postgres@127.0.0.1:1/none');
    const broken = buildApp({ pool: deadPool, temporal: temporal.client, taskQueue: temporal.taskQueue, orders: ORDER_SETTINGS });
    try {
      const res = await broken.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json().checks.postgres.status).toBe('down');
      expect(res.json().checks.temporal.status).toBe('up');
    } finally {
      await broken.close();
      await deadPool.end();
    }
  });

  it('POST /orders starts the saga, which appends order.created with the correlation id', async () => {
    const correlationId = `corr-${randomUUID()}`;
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'x-correlation-id': correlationId },
      payload: validOrder(),
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({ orderId: expect.any(String), workflowId: `order-${body.orderId}`, correlationId });
    expect(res.headers['x-correlation-id']).toBe(correlationId);

    const event = await waitFor(
      async () =>
        (await db.pool.query(`SELECT event_type, metadata FROM events WHERE stream_id = $1`, [body.workflowId])).rows[0],
      { timeoutMs: 20_000, description: 'order.created' },
    );
    expect(event).toMatchObject({ event_type: 'order.created', metadata: { correlationId } });
  });

  it('the same Idempotency-Key returns the same order and starts nothing new', async () => {
    const order = validOrder();
    const headers = { 'idempotency-key': `key-${randomUUID()}` };
    const first = await app.inject({ method: 'POST', url: '/orders', headers, payload: order });
    const handle = temporal.client.workflow.getHandle(first.json().workflowId);
    await handle.result();
    const second = await app.inject({ method: 'POST', url: '/orders', headers, payload: order });
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual(first.json());
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = $1', [order.customerId]);
    expect(rows[0].n).toBe(1);
  });

  it('refuses an Idempotency-Key reused with a different body (409)', async () => {
    const headers = { 'idempotency-key': `key-${randomUUID()}` };
    const order = validOrder();
    expect((await app.inject({ method: 'POST', url: '/orders', headers, payload: order })).statusCode).toBe(202);
    const other = { ...order, items: [{ sku: 'SKU-0002', quantity: 1 }] };
    const res = await app.inject({ method: 'POST', url: '/orders', headers, payload: other });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toBe('ConflictError');
  });

  it('answers invalid input with 400 and one error per field', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: { customerId: '', items: [{ sku: 'SKU-0001', quantity: 0 }], payment: {}, shippingAddress: { country: 'Germany' } },
    });
    expect(res.statusCode).toBe(400);
    const fields = res.json().fieldErrors.map((f: { field: string }) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'customerId',
        'items.0.quantity',
        'payment.token',
        'shippingAddress.line1',
        'shippingAddress.country',
      ]),
    );
  });

  it('answers malformed JSON with 400, not 500', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'content-type': 'application/json' },
      payload: '{"customerId": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'BadRequest' });
  });
});
