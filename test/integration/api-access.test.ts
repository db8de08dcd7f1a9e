import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { UndeclaredAccessError, type Access } from '../../src/api/auth';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

// Access fails closed: every registered route declares who may call it (or the app does not
// start), and every route is checked here as registered, not from a hand-kept list: no key is
// 401 on every non-public route, a customer's key is 403 on every operator route.

const CUSTOMER = { name: 'alice', role: 'customer' as const, key: 'customer-key-0123456789' };
const OPERATOR = { name: 'ops', role: 'operator' as const, key: 'operator-key-0123456789' };
let db: TestDatabase;
let temporal: TestTemporal;
let app: FastifyInstance;
const routes: { method: string; url: string; access: Access }[] = [];

const build = () =>
  buildApp({
    pool: db.pool,
    temporal: temporal.client,
    taskQueue: temporal.taskQueue,
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
    apiKeys: [CUSTOMER, OPERATOR],
    limits: { rateLimitPerMinute: false },
  });

beforeAll(async () => {
  db = await createTestDatabase();
  temporal = await connectTestTemporal();
  app = build();
  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: Access } | undefined)?.access as Access;
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, access });
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await temporal?.close();
  await db?.drop();
});

/** A concrete URL for a route pattern (auth answers before any parameter is looked at). */
const concrete = (url: string) =>
  url
    .replace(/:(orderId|returnId)/g, randomUUID())
    .replace(':id', '1')
    .replace(':step', 'reserveInventory')
    .replace(':correlationId', 'corr-1')
    .replace(':file', 'console.js')
    .replace('*', 'index.css');

test('a route without config.access stops the app from starting', async () => {
  const bad = build();
  void bad.register(async (r) => {
    r.get('/undeclared', async () => ({ ok: true }));
  });
  await expect(bad.ready()).rejects.toThrow(UndeclaredAccessError);
  await bad.close().catch(() => undefined);
});

test('every registered route declares its access level', () => {
  const ours = routes.filter((r) => r.method !== 'HEAD');
  expect(ours.length).toBeGreaterThanOrEqual(30);
  for (const r of ours)
    expect({ ...r, access: ['public', 'customer', 'operator'].includes(r.access) }).toEqual({ ...r, access: true });
  // The dead letter's detail shows payloads and stacks: operators only.
  expect(ours).toContainEqual({ method: 'GET', url: '/dead-letters/:id', access: 'operator' });
  expect(
    ours
      .filter((r) => r.access === 'public')
      .map((r) => `${r.method} ${r.url}`)
      .filter((r) => !r.includes('/docs')),
  ).toEqual(expect.arrayContaining(['GET /health', 'GET /health/live', 'GET /health/ready', 'GET /metrics']));
});

test('no key, or an unknown key: 401 on every route that is not public', async () => {
  const guarded = routes.filter((r) => r.method !== 'HEAD' && r.access !== 'public');
  expect(guarded.length).toBeGreaterThanOrEqual(25);
  for (const { method, url } of guarded) {
    for (const headers of [{}, { 'x-api-key': 'not-a-key-at-all-000' }]) {
      const res = await app.inject({ method: method as 'GET', url: concrete(url), headers });
      expect({ method, url, status: res.statusCode }).toEqual({ method, url, status: 401 });
      expect(res.json()).toMatchObject({ code: 'unauthorized' });
    }
  }
});

test("a customer's key: 403 on every operator route", async () => {
  const operatorOnly = routes.filter((r) => r.method !== 'HEAD' && r.access === 'operator');
  expect(operatorOnly.length).toBeGreaterThanOrEqual(14);
  for (const { method, url } of operatorOnly) {
    const res = await app.inject({
      method: method as 'GET',
      url: concrete(url),
      headers: { 'x-api-key': CUSTOMER.key },
    });
    expect({ method, url, status: res.statusCode }).toEqual({ method, url, status: 403 });
    expect(res.json()).toMatchObject({ code: 'forbidden' });
  }
});

test('public routes answer without a key', async () => {
  for (const url of ['/health/live', '/health/ready', '/metrics', '/products', '/docs/json']) {
    expect({ url, status: (await app.inject({ url })).statusCode }).toEqual({ url, status: 200 });
  }
});
