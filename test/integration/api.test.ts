import { randomUUID } from 'node:crypto';
import { ServiceError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { createPool } from '../../src/store/pool';
import { waitFor } from '../../src/util/wait';
import type { TestDatabase } from '../helpers/database';
import { waitForSagaStatus } from '../helpers/orders';
import { SAGA_EVENTS } from '../helpers/orders';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../helpers/api-world';
import type { TestTemporal } from '../helpers/temporal';

const ORDER_SETTINGS = { approvalThresholdCents: 100_000, approvalTimeout: '1 hour' };
let world: ApiWorld;
let db: TestDatabase;
let temporal: TestTemporal;
let app: FastifyInstance;

beforeAll(async () => {
  // The read model behind GET /orders/:id is kept by the order-summary projector, running here.
  world = await startApiWorld({ orders: ORDER_SETTINGS });
  ({ db, temporal, app } = world);
});
afterAll(async () => stopApiWorld(world));

/** GET /orders/:id once the read model reflects at least `version` events of the order. */
const readModelAt = (orderId: string, version: number) =>
  waitFor(
    async () => {
      const res = await app.inject({ method: 'GET', url: `/orders/${orderId}` });
      return res.statusCode === 200 && res.json<{ version: number }>().version >= version ? res : undefined;
    },
    { timeoutMs: 30_000, description: `the read model of ${orderId} at version ${version}` },
  );

const validOrder = () => ({
  customerId: `cust-${randomUUID()}`,
  items: [{ sku: 'SKU-0001', quantity: 2 }],
  payment: { token: 'tok_visa' },
  shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
});

describe('HTTP API', () => {
  it('GET /health reports PostgreSQL and Temporal up', async () => {
    // The consumers claim their partitions within a rebalance interval of starting.
    const res = await waitFor(async () => {
      const r = await app.inject({ method: 'GET', url: '/health' });
      const owned = Object.values(r.json().delivery?.consumers ?? {}).every(
        (c) =>
          (c as { partitionsOwned: number; partitions: number }).partitionsOwned ===
          (c as { partitions: number }).partitions,
      );
      return owned ? r : undefined;
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ok',
      checks: { postgres: { status: 'up' }, temporal: { status: 'up' } },
      delivery: {
        transport: 'postgres',
        consumers: {
          'order-summary': { instances: 1, partitionsOwned: 1, partitions: 1 },
          notifier: { instances: 1, partitionsOwned: 4, partitions: 4 },
        },
      },
    });
  });

  it('GET /health/live and /health/ready answer without touching dependencies; ready is 503 while draining', async () => {
    let draining = false;
    const deadPool = createPool('postgres://postgres@127.0.0.1:1/none');
    const probed = buildApp({
      pool: deadPool,
      temporal: temporal.client,
      taskQueue: temporal.taskQueue,
      orders: ORDER_SETTINGS,
      draining: () => draining,
    });
    try {
      expect((await probed.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'live' });
      const ready = await probed.inject({ method: 'GET', url: '/health/ready' });
      expect([ready.statusCode, ready.json()]).toEqual([200, { status: 'ready' }]);
      draining = true;
      const drained = await probed.inject({ method: 'GET', url: '/health/ready' });
      expect([drained.statusCode, drained.json()]).toEqual([503, { status: 'draining' }]);
      expect((await probed.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    } finally {
      await probed.close();
      await deadPool.end();
    }
  });

  it('GET /health answers 503 and names PostgreSQL when it is unreachable', async () => {
    const deadPool = createPool('postgres://postgres@127.0.0.1:1/none');
    const broken = buildApp({
      pool: deadPool,
      temporal: temporal.client,
      taskQueue: temporal.taskQueue,
      orders: ORDER_SETTINGS,
    });
    try {
      const res = await broken.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json().checks.postgres.status).toBe('down');
      expect(res.json().checks.temporal.status).toBe('up');
      // Any route that needs it: 503 with Retry-After (a client may retry), never a 500.
      const read = await broken.inject({ method: 'GET', url: `/orders/${randomUUID()}` });
      expect([read.statusCode, read.headers['retry-after'], read.json().code]).toEqual([503, '1', 'unavailable']);
    } finally {
      await broken.close();
      await deadPool.end();
    }
  });

  it('POST /orders answers 503 + Retry-After, not 500, when Temporal does not answer in time', async () => {
    // What the client throws when the server gives no answer before the deadline: a hung Temporal
    // server, or one stalled on its hung database (the chaos suite's hangs met the 500 this was).
    const deadline = Object.assign(new Error('4 DEADLINE_EXCEEDED: context deadline exceeded'), {
      code: 4,
      details: 'context deadline exceeded',
      metadata: {},
    });
    const hung = {
      workflow: { start: () => Promise.reject(new ServiceError('Failed to start Workflow', { cause: deadline })) },
    } as unknown as Client;
    const stalled = buildApp({ pool: db.pool, temporal: hung, taskQueue: temporal.taskQueue, orders: ORDER_SETTINGS });
    try {
      const res = await stalled.inject({
        method: 'POST',
        url: '/orders',
        headers: { 'idempotency-key': `key-${randomUUID()}` },
        payload: validOrder(),
      });
      expect([res.statusCode, res.headers['retry-after'], res.json().code]).toEqual([503, '1', 'unavailable']);
    } finally {
      await stalled.close();
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
        (await db.pool.query(`SELECT event_type, metadata FROM events WHERE stream_id = $1`, [body.workflowId]))
          .rows[0],
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
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM orders WHERE customer_id = $1', [
      order.customerId,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('refuses an Idempotency-Key reused with a different body (409)', async () => {
    const headers = { 'idempotency-key': `key-${randomUUID()}` };
    const order = validOrder();
    expect((await app.inject({ method: 'POST', url: '/orders', headers, payload: order })).statusCode).toBe(202);
    const other = { ...order, items: [{ sku: 'SKU-0002', quantity: 1 }] };
    const res = await app.inject({ method: 'POST', url: '/orders', headers, payload: other });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'conflict', status: 409, type: '/problems/conflict' });
  });

  it('answers invalid input with 400 and one error per field', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: {
        customerId: '',
        items: [{ sku: 'SKU-0001', quantity: 0 }],
        payment: {},
        shippingAddress: { country: 'Germany' },
      },
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
    expect(res.json()).toMatchObject({ code: 'bad_request', status: 400 });
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('GET /products lists the seeded catalog with price and stock', async () => {
    const res = await app.inject({ method: 'GET', url: '/products' });
    expect(res.statusCode).toBe(200);
    const { products } = res.json();
    expect(products.map((p: { sku: string }) => p.sku)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `SKU-${String(i + 1).padStart(4, '0')}`),
      'SKU-SOLDOUT',
    ]);
    expect(products[0]).toEqual({ sku: 'SKU-0001', name: 'Notebook', priceCents: 999, stock: expect.any(Number) });
    expect(products.find((p: { sku: string }) => p.sku === 'SKU-SOLDOUT').stock).toBe(0);
  });

  it('GET /orders/:id/events returns envelopes ordered by stream version; GET /orders/:id the folded order', async () => {
    const correlationId = `corr-${randomUUID()}`;
    const placed = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'x-correlation-id': correlationId },
      payload: validOrder(),
    });
    const { orderId, workflowId } = placed.json();
    await temporal.client.workflow.getHandle(workflowId).result();

    const res = await app.inject({ method: 'GET', url: `/orders/${orderId}/events` });
    expect(res.statusCode).toBe(200);
    const { events } = res.json();
    expect(events.map((e: { eventType: string }) => e.eventType)).toEqual([...SAGA_EVENTS.CONFIRMED]);
    expect(events.map((e: { version: number }) => e.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[0]).toEqual({
      eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      eventType: 'order.created',
      aggregateId: orderId,
      aggregateType: 'order',
      occurredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      version: 1,
      schemaVersion: 2,
      correlationId,
      causationId: `${workflowId}/create-order`,
      payload: expect.objectContaining({
        orderId,
        currency: 'USD',
        items: [{ sku: 'SKU-0001', quantity: 2, unitPriceCents: 999 }],
      }),
    });

    const order = await readModelAt(orderId, 6);
    expect(order.statusCode).toBe(200);
    expect(order.json()).toMatchObject({
      orderId,
      status: 'CONFIRMED',
      payment: 'CAPTURED',
      shipment: 'SCHEDULED',
      version: 6,
    });
  });

  it('POST /orders/:id/approve over HTTP confirms an order waiting for approval; a second approve answers 409', async () => {
    const big = { ...validOrder(), items: [{ sku: 'SKU-0010', quantity: 11 }] };
    const { orderId, workflowId } = (await app.inject({ method: 'POST', url: '/orders', payload: big })).json();
    await waitForSagaStatus(temporal.client.workflow.getHandle(workflowId), 'AWAITING_APPROVAL');
    const saga = await app.inject({ method: 'GET', url: `/orders/${orderId}/saga` });
    expect(saga.json()).toMatchObject({ orderId, status: 'AWAITING_APPROVAL', totalCents: 109_989 });
    const approved = await app.inject({ method: 'POST', url: `/orders/${orderId}/approve` });
    expect(approved.statusCode).toBe(200);
    expect(await temporal.client.workflow.getHandle(workflowId).result()).toMatchObject({ status: 'CONFIRMED' });
    const again = await app.inject({ method: 'POST', url: `/orders/${orderId}/approve` });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'conflict' });
  });

  it('POST /orders/:id/reject and /cancel: the saga compensates; cancelling a finished order answers 409', async () => {
    const big = { ...validOrder(), items: [{ sku: 'SKU-0010', quantity: 11 }] };
    const { orderId, workflowId } = (await app.inject({ method: 'POST', url: '/orders', payload: big })).json();
    await waitForSagaStatus(temporal.client.workflow.getHandle(workflowId), 'AWAITING_APPROVAL');
    const rejected = await app.inject({
      method: 'POST',
      url: `/orders/${orderId}/reject`,
      payload: { reason: 'over_budget' },
    });
    expect(rejected.statusCode).toBe(200);
    expect(await temporal.client.workflow.getHandle(workflowId).result()).toMatchObject({
      status: 'CANCELLED',
      reason: 'over_budget',
    });
    const cancel = await app.inject({ method: 'POST', url: `/orders/${orderId}/cancel` });
    expect(cancel.statusCode).toBe(409);
  });

  it('answers 404 for an unknown order and 400 for an order id that is not a UUID', async () => {
    const unknown = randomUUID();
    expect((await app.inject({ method: 'GET', url: `/orders/${unknown}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/orders/${unknown}/events` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: `/orders/${unknown}/cancel` })).statusCode).toBe(404);
    const bad = await app.inject({ method: 'GET', url: '/orders/not-a-uuid/events' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().fieldErrors).toEqual([{ field: 'params.orderId', message: 'must be a UUID' }]);
  });

  it('serves an event stored as v1 upcast to the newest version', async () => {
    const orderId = randomUUID();
    const v1 = {
      orderId,
      customerId: 'legacy',
      items: [{ sku: 'SKU-0002', quantity: 3 }],
      shippingAddress: { line1: 'a', city: 'b', postalCode: '1', country: 'DE' },
    };
    await db.pool.query(
      `INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, payload, metadata)
       VALUES ($1, $2, 1, 'order.created', 1, $3, '{}')`,
      [randomUUID(), `order-${orderId}`, JSON.stringify(v1)],
    );
    const { events } = (await app.inject({ method: 'GET', url: `/orders/${orderId}/events` })).json();
    expect(events[0]).toMatchObject({
      schemaVersion: 2,
      payload: { ...v1, items: [{ sku: 'SKU-0002', quantity: 3, unitPriceCents: null }], currency: 'USD' },
    });
    const order = (await readModelAt(orderId, 1)).json();
    expect(order).toMatchObject({ status: 'PENDING', currency: 'USD', customerId: 'legacy' });
  });

  it('answers every error as an RFC 9457 problem document, never with internals', async () => {
    const cases = [
      { req: { method: 'GET' as const, url: '/no/such/route' }, status: 404, code: 'not_found' },
      {
        req: {
          method: 'POST' as const,
          url: '/orders',
          payload: '{"oops"',
          headers: { 'content-type': 'application/json' },
        },
        status: 400,
        code: 'bad_request',
      },
      {
        req: { method: 'POST' as const, url: '/orders', payload: 'a=b', headers: { 'content-type': 'text/csv' } },
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        req: { method: 'POST' as const, url: '/orders', payload: { big: 'x'.repeat(300 * 1024) } },
        status: 413,
        code: 'payload_too_large',
      },
      { req: { method: 'POST' as const, url: '/orders', payload: {} }, status: 400, code: 'validation_failed' },
      { req: { method: 'GET' as const, url: `/orders/${randomUUID()}` }, status: 404, code: 'not_found' },
    ];
    for (const { req, status, code } of cases) {
      const res = await app.inject({ ...req, headers: { 'x-correlation-id': 'problem-check', ...req.headers } });
      expect({ url: req.url, status: res.statusCode }).toEqual({ url: req.url, status });
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = res.json();
      expect(body).toMatchObject({
        type: `/problems/${code.replace(/_/g, '-')}`,
        code,
        status,
        correlationId: 'problem-check',
      });
      expect(typeof body.title).toBe('string');
      expect(typeof body.detail).toBe('string');
      expect(JSON.stringify(body)).not.toMatch(/\n\s+at |node_modules|\/src\//);
    }
  });

  it('GET /metrics serves Prometheus text: request durations by route and orders placed', async () => {
    const before = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const placedBefore = Number(/^saga_api_orders_placed_total (\d+)/m.exec(before)?.[1] ?? 0);
    await app.inject({ method: 'POST', url: '/orders', payload: validOrder() });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(Number(/^saga_api_orders_placed_total (\d+)/m.exec(res.body)?.[1])).toBe(placedBefore + 1);
    expect(res.body).toMatch(
      /saga_api_http_request_duration_seconds_count\{method="POST",route="\/orders",status="202"\} \d+/,
    );
    expect(res.body).toContain('saga_api_process_cpu_seconds_total');
  });

  it('answers an event it cannot read with a 500 that names it, not a crash', async () => {
    const orderId = randomUUID();
    await db.pool.query(
      `INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, payload)
       VALUES ($1, $2, 1, 'order.teleported', 1, '{}')`,
      [randomUUID(), `order-${orderId}`],
    );
    const res = await app.inject({ method: 'GET', url: `/orders/${orderId}/events` });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({
      code: 'unreadable_event',
      status: 500,
      detail: 'Unknown event type order.teleported',
    });
  });
});
