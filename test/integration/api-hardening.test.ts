import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

// Protective limits of the HTTP API: security headers, rate limiting per key, load shedding,
// and a JSON nesting limit, each answered with a problem document.

let db: TestDatabase;
let temporal: TestTemporal;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  temporal = await connectTestTemporal();
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await temporal?.close();
  await db?.drop();
});

function app(limits: Parameters<typeof buildApp>[0]['limits'], trustProxy?: boolean): FastifyInstance {
  const built = buildApp({
    trustProxy,
    pool: db.pool,
    temporal: temporal.client,
    taskQueue: temporal.taskQueue,
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
    limits,
  });
  apps.push(built);
  return built;
}

test('security headers on every answer', async () => {
  const res = await app({}).inject({ url: '/products' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  expect(res.headers['strict-transport-security']).toBeDefined();
});

test('rate limit per API key (or client address): 429 problem with Retry-After; other keys unaffected', async () => {
  const limited = app({ rateLimitPerMinute: 3 });
  const statuses = [];
  for (let i = 0; i < 4; i++)
    statuses.push((await limited.inject({ url: '/products', headers: { 'x-api-key': 'a' } })).statusCode);
  expect(statuses).toEqual([200, 200, 200, 429]);
  const refused = await limited.inject({ url: '/products', headers: { 'x-api-key': 'a' } });
  expect(refused.headers['retry-after']).toBeDefined();
  expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(refused.json()).toMatchObject({ code: 'rate_limited', status: 429 });
  expect((await limited.inject({ url: '/products', headers: { 'x-api-key': 'b' } })).statusCode).toBe(200);
});

test('behind a trusted proxy, clients without a key are limited by their forwarded address, not the proxy', async () => {
  const statuses = async (limited: FastifyInstance) => {
    const out = [];
    for (const client of ['203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      out.push((await limited.inject({ url: '/products', headers: { 'x-forwarded-for': client } })).statusCode);
    }
    return out;
  };
  expect(await statuses(app({ rateLimitPerMinute: 2 }, true))).toEqual([200, 200, 200, 200]);
  // Not trusted: every request comes from the proxy's own address and shares one budget.
  expect(await statuses(app({ rateLimitPerMinute: 2 }))).toEqual([200, 200, 429, 429]);
});

test('a body nesting deeper than the limit is refused with a field error', async () => {
  let deep: unknown = 'x';
  for (let i = 0; i < 30; i++) deep = { deep };
  const res = await app({ maxJsonDepth: 20 }).inject({ method: 'POST', url: '/orders', payload: deep as object });
  expect(res.statusCode).toBe(400);
  expect(res.json()).toMatchObject({
    code: 'validation_failed',
    fieldErrors: [{ field: '(body)', message: 'nests deeper than 20 levels' }],
  });
});

test('under event-loop pressure requests are shed with 503 and Retry-After', async () => {
  const pressured = app({ maxEventLoopDelayMs: 10 });
  await pressured.ready();
  const busy = (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until); // block the event loop, as an overloaded process would
  };
  const shed = await waitFor(
    async () => {
      busy(200);
      await new Promise((r) => setImmediate(r));
      const res = await pressured.inject({ url: '/products' });
      return res.statusCode === 503 ? res : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 50, description: 'a request to be shed' },
  );
  expect(shed.headers['retry-after']).toBe('10');
  expect(shed.json()).toMatchObject({ code: 'unavailable', status: 503 });
});

test('text PostgreSQL cannot store is refused at the door with 400 naming the field', async () => {
  const api = app({ rateLimitPerMinute: false });
  const order = {
    customerId: 'a\u0000b',
    items: [{ sku: 'SKU-0001', quantity: 1 }],
    payment: { token: 'tok_visa' },
    shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
  };
  const cases = [
    [{ url: '/correlations/%00' }, 'params.correlationId'],
    [{ url: '/orders?customerId=%00' }, 'query.customerId'],
    [{ method: 'POST', url: '/orders', payload: order }, 'customerId'],
    [
      {
        method: 'POST',
        url: '/orders',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ ...order, customerId: 'c' }).replace('"c"', '"\\ud800"'),
      },
      'customerId',
    ],
    [{ url: '/orders', headers: { 'x-correlation-id': 'a\u0000' } }, 'headers.x-correlation-id'],
    [{ method: 'POST', url: `/dead-letters/discard`, payload: { note: 'n\u0000' } }, 'note'],
  ] as const;
  for (const [request, field] of cases) {
    const res = await api.inject(request as Parameters<FastifyInstance['inject']>[0] & object);
    expect({ url: request.url, status: res.statusCode }).toEqual({ url: request.url, status: 400 });
    expect(res.json()).toMatchObject({ code: 'validation_failed', fieldErrors: [expect.objectContaining({ field })] });
  }
  // An id longer than the router takes: 414, a problem of its own kind.
  const long = await api.inject({ url: `/orders/${'x'.repeat(300)}` });
  expect(long.statusCode).toBe(414);
  expect(long.json()).toMatchObject({ code: 'uri_too_long', status: 414 });
});
