import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { readStream } from '../../src/store/event-store';
import { waitFor } from '../../src/util/wait';
import type { TestDatabase } from '../helpers/database';
import { openDeadLetter } from '../helpers/delivery';
import { startSagaWorld, stopSagaWorld, type SagaWorld } from '../helpers/saga-world';
import type { TestTemporal } from '../helpers/temporal';

// Identities and roles: with API keys configured, placing and reading orders needs a key,
// approving, rejecting and dead-letter actions need an operator's; who acted is recorded.

const CUSTOMER = { name: 'alice', role: 'customer' as const, key: 'customer-key-0123456789' };
const OPERATOR = { name: 'ops', role: 'operator' as const, key: 'operator-key-0123456789' };
let world: SagaWorld;
let db: TestDatabase;
let temporal: TestTemporal;
let app: FastifyInstance;

beforeAll(async () => {
  world = await startSagaWorld();
  ({ db, temporal } = world);
  app = buildApp({
    pool: db.pool,
    temporal: temporal.client,
    taskQueue: temporal.taskQueue,
    // SKU-0001 costs 9.99: 10 of them wait for approval.
    orders: { approvalThresholdCents: 5_000, approvalTimeout: '1h' },
    apiKeys: [CUSTOMER, OPERATOR],
  });
});
afterAll(async () => {
  await app?.close();
  await stopSagaWorld(world);
});

const order = {
  customerId: 'cust-auth',
  items: [{ sku: 'SKU-0001', quantity: 1 }],
  payment: { token: 'tok_visa' },
  shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
};
const as = (key?: string) => (key ? { 'x-api-key': key } : {});

test('no key or an unknown key: 401 problem on every route that needs one; public routes stay open', async () => {
  for (const [method, url] of [
    ['POST', '/orders'],
    ['GET', '/orders'],
    ['GET', `/orders/${randomUUID()}`],
    ['POST', `/orders/${randomUUID()}/cancel`],
    ['GET', '/dead-letters'],
  ] as const) {
    for (const key of [undefined, 'not-a-key-at-all-000']) {
      const res = await app.inject({ method, url, headers: as(key), ...(method === 'POST' ? { payload: order } : {}) });
      expect({ method, url, key, status: res.statusCode }).toEqual({ method, url, key, status: 401 });
      expect(res.json()).toMatchObject({ code: 'unauthorized' });
      expect(res.headers['www-authenticate']).toContain('X-API-Key');
    }
  }
  for (const url of ['/health', '/metrics', '/products', '/docs/json']) {
    expect({ url, status: (await app.inject({ url })).statusCode }).toEqual({ url, status: 200 });
  }
});

test('a customer key places, reads and cancels orders, but may not approve, reject or touch dead letters', async () => {
  const placed = await app.inject({ method: 'POST', url: '/orders', headers: as(CUSTOMER.key), payload: order });
  expect(placed.statusCode).toBe(202);
  const bearer = await app.inject({ url: '/orders', headers: { authorization: `Bearer ${CUSTOMER.key}` } });
  expect(bearer.statusCode).toBe(200);
  const { orderId } = placed.json<{ orderId: string }>();
  for (const [method, url] of [
    ['POST', `/orders/${orderId}/approve`],
    ['POST', `/orders/${orderId}/reject`],
    ['GET', '/dead-letters'],
    ['POST', '/dead-letters/1/replay'],
    ['POST', '/dead-letters/1/discard'],
  ] as const) {
    const res = await app.inject({ method, url, headers: as(CUSTOMER.key) });
    expect({ url, status: res.statusCode }).toEqual({ url, status: 403 });
    expect(res.json()).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('operators only') });
  }
});

test('an operator key passes, and dead-letter actions record the key name as who acted', async () => {
  expect(
    (await app.inject({ method: 'POST', url: `/orders/${randomUUID()}/approve`, headers: as(OPERATOR.key) }))
      .statusCode,
  ).toBe(404);
  const id = await openDeadLetter(db.pool, 'bad');
  const discarded = await app.inject({
    method: 'POST',
    url: `/dead-letters/${id}/discard`,
    headers: { ...as(OPERATOR.key), 'x-actor': 'someone-else' },
  });
  expect(discarded.statusCode).toBe(200);
  expect(discarded.json()).toMatchObject({ deadLetter: { actions: [{ actor: 'api:ops', outcome: 'discarded' }] } });
});

test('who decided travels into the events: order.approved names the operator, order.cancelled the customer', async () => {
  const big = { ...order, items: [{ sku: 'SKU-0001', quantity: 10 }] };
  const place = async () =>
    (await app.inject({ method: 'POST', url: '/orders', headers: as(CUSTOMER.key), payload: big })).json<{
      orderId: string;
    }>().orderId;
  const awaitingApproval = (orderId: string) =>
    waitFor(
      async () =>
        (await app.inject({ url: `/orders/${orderId}/saga`, headers: as(CUSTOMER.key) })).json<{ status: string }>()
          .status === 'AWAITING_APPROVAL' || undefined,
      { timeoutMs: 30_000, description: 'the order to wait for approval' },
    );
  const approvedId = await place();
  const cancelledId = await place();
  await awaitingApproval(approvedId);
  await awaitingApproval(cancelledId);

  expect(
    (await app.inject({ method: 'POST', url: `/orders/${approvedId}/approve`, headers: as(OPERATOR.key) })).statusCode,
  ).toBe(200);
  const cancel = await app.inject({
    method: 'POST',
    url: `/orders/${cancelledId}/cancel`,
    headers: as(CUSTOMER.key),
    payload: { reason: 'changed my mind' },
  });
  expect(cancel.statusCode).toBe(200);

  const approved = await waitFor(async () =>
    (await readStream(db.pool, `order-${approvedId}`)).find((e) => e.eventType === 'order.approved'),
  );
  expect(approved.payload).toMatchObject({ decidedBy: 'ops' });
  const cancelled = (await readStream(db.pool, `order-${cancelledId}`)).at(-1)!;
  expect(cancelled).toMatchObject({
    eventType: 'order.cancelled',
    payload: { reason: 'changed my mind', requestedBy: 'alice' },
  });
});
