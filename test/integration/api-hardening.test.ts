import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/api/app';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

// Protective limits of the HTTP API: security headers, rate limiting per identity across replicas, load shedding,
// and a JSON nesting limit, each answered with a problem document.

let db: TestDatabase;
let temporal: TestTemporal;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  temporal = await connectTestTemporal();
});
// The counters live in the database, shared by every app of this file: each test starts afresh.
beforeEach(async () => {
  await db.pool.query('DELETE FROM api_rate_limits');
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await temporal?.close();
  await db?.drop();
});

function app(
  limits: Parameters<typeof buildApp>[0]['limits'],
  trustProxy?: boolean,
  apiKeys?: Parameters<typeof buildApp>[0]['apiKeys'],
): FastifyInstance {
  const built = buildApp({
    trustProxy,
    apiKeys,
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

const KEYS = [
  { name: 'alice', role: 'customer' as const, key: 'alice-key-0123456789' },
  { name: 'bob', role: 'customer' as const, key: 'bob-key-0123456789' },
];

test("rate limit per identity: 429 problem with Retry-After; other keys unaffected; made-up keys share their sender's budget", async () => {
  const limited = app({ rateLimitPerMinute: 3 }, false, KEYS);
  const statuses = async (headers: Record<string, string>[]) => {
    const out = [];
    for (const h of headers) out.push((await limited.inject({ url: '/products', headers: h })).statusCode);
    return out;
  };
  const alice = { 'x-api-key': KEYS[0]!.key };
  expect(await statuses([alice, alice, alice, alice])).toEqual([200, 200, 200, 429]);
  const refused = await limited.inject({ url: '/products', headers: alice });
  expect(refused.headers['retry-after']).toBeDefined();
  expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(refused.json()).toMatchObject({ code: 'rate_limited', status: 429 });
  expect(await statuses([{ 'x-api-key': KEYS[1]!.key }])).toEqual([200]);
  // A fresh made-up key per request buys no fresh budget: they count against the address.
  expect(await statuses(['made-up-1', 'made-up-2', 'made-up-3', 'made-up-4'].map((k) => ({ 'x-api-key': k })))).toEqual(
    [200, 200, 200, 429],
  );
  // Guessing keys on a route that needs one is counted too: 401s, then 429.
  const guesses = [];
  for (const k of ['guess-1', 'guess-2']) {
    guesses.push((await limited.inject({ url: '/orders', headers: { 'x-api-key': k } })).statusCode);
  }
  expect(guesses).toEqual([429, 429]);
});

test('probes and /metrics are never rate limited, even for a caller whose budget is spent', async () => {
  const limited = app({ rateLimitPerMinute: 1 });
  expect((await limited.inject({ url: '/products' })).statusCode).toBe(200);
  expect((await limited.inject({ url: '/products' })).statusCode).toBe(429);
  for (const url of ['/health/live', '/health/ready', '/metrics', '/health', '/health/live', '/metrics']) {
    const res = await limited.inject({ url });
    expect({ url, limited: res.statusCode === 429 }).toEqual({ url, limited: false });
  }
});

test("one limit across replicas: two API processes on the same database share each caller's budget", async () => {
  const replicas = [app({ rateLimitPerMinute: 4 }, false, KEYS), app({ rateLimitPerMinute: 4 }, false, KEYS)];
  const alice = { 'x-api-key': KEYS[0]!.key };
  const statuses = [];
  for (let i = 0; i < 8; i++) {
    statuses.push((await replicas[i % 2]!.inject({ url: '/products', headers: alice })).statusCode);
  }
  expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
  // Concurrent requests to both replicas: the upsert is atomic, exactly the limit passes.
  const bob = { 'x-api-key': KEYS[1]!.key };
  const burst = await Promise.all(
    Array.from({ length: 12 }, (_, i) => replicas[i % 2]!.inject({ url: '/products', headers: bob })),
  );
  expect(burst.filter((r) => r.statusCode === 200)).toHaveLength(4);
  expect(burst.filter((r) => r.statusCode === 429)).toHaveLength(8);
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
  // Probes and the scrape are served all the same: a busy replica is neither restarted by its
  // liveness probe nor lost from sight. Each is asked while the API still sheds.
  for (const url of ['/health/live', '/health/ready', '/metrics']) {
    busy(200);
    await new Promise((r) => setImmediate(r));
    expect((await pressured.inject({ url: '/products' })).statusCode).toBe(503);
    expect((await pressured.inject({ url })).statusCode).toBe(200);
  }
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
    const res = await api.inject(request as InjectOptions);
    expect({ url: request.url, status: res.statusCode }).toEqual({ url: request.url, status: 400 });
    expect(res.json()).toMatchObject({ code: 'validation_failed', fieldErrors: [expect.objectContaining({ field })] });
  }
  // An id longer than the router takes: 414, a problem of its own kind.
  const long = await api.inject({ url: `/orders/${'x'.repeat(300)}` });
  expect(long.statusCode).toBe(414);
  expect(long.json()).toMatchObject({ code: 'uri_too_long', status: 414 });
});
