import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';
import {
  recordResponses,
  responseChecker,
  undeclaredResponses,
  type ObservedResponse,
} from '../helpers/openapi-responses';

// The OpenAPI document is generated from the same zod schemas that validate requests and
// responses: it must validate, and list every route the API serves, with its responses.

let db: TestDatabase;
let temporal: TestTemporal;
let app: FastifyInstance;
let observed: ObservedResponse[];
const registered: { method: string; url: string; access?: string }[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  temporal = await connectTestTemporal();
  app = buildApp({
    pool: db.pool,
    temporal: temporal.client,
    taskQueue: temporal.taskQueue,
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
  });
  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: string } | undefined)?.access;
    for (const method of [route.method].flat()) registered.push({ method, url: route.url, access });
  });
  observed = recordResponses(app);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await temporal?.close();
  await db?.drop();
});

test('GET /docs/json is a valid OpenAPI 3.1 document', async () => {
  const res = await app.inject({ url: '/docs/json' });
  expect(res.statusCode).toBe(200);
  const document = res.json();
  expect(document.openapi).toBe('3.1.0');
  // The validator is ESM-only: run its CLI on the served document.
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'openapi-')), 'openapi.json');
  await writeFile(file, JSON.stringify(document));
  const cli = require.resolve('@seriousme/openapi-schema-validator/bin/validate-api-cli.js');
  const result = await promisify(execFile)(process.execPath, [cli, file]).catch((err: { stdout: string }) => err);
  expect(result.stdout).toMatch(/"valid": true/);
});

test('every route the API serves is in the document, with its success and problem responses', async () => {
  const document = (await app.inject({ url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, { responses: Record<string, unknown>; summary?: string }>>;
  };
  const ours = registered.filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs'));
  expect(ours.length).toBeGreaterThanOrEqual(17);
  for (const { method, url } of ours) {
    const path = url.replace(/:(\w+)/g, '{$1}');
    const operation = document.paths[path]?.[method.toLowerCase()];
    expect({ method, url, documented: Boolean(operation) }).toEqual({ method, url, documented: true });
    expect(operation!.summary).toEqual(expect.any(String));
    if (url !== '/metrics') {
      const statuses = Object.keys(operation!.responses);
      expect({ url, success: statuses.some((s) => s.startsWith('2')) }).toEqual({ url, success: true });
    }
  }
  // Requests are described too: the order body, the listing query, the id params.
  expect(JSON.stringify(document.paths['/orders']!.post)).toContain('shippingAddress');
  expect(JSON.stringify(document.paths['/orders']!.get)).toContain('cursor');
});

test('GET /docs serves the interactive reference', async () => {
  const res = await app.inject({ url: '/docs' });
  expect([200, 302]).toContain(res.statusCode);
  const page = res.statusCode === 302 ? await app.inject({ url: res.headers.location as string }) : res;
  expect(page.statusCode).toBe(200);
  expect(page.body).toMatch(/swagger/i);
});

const CUSTOMER = { name: 'alice', role: 'customer' as const, key: 'customer-key-0123456789' };
const OPERATOR = { name: 'ops', role: 'operator' as const, key: 'operator-key-0123456789' };

/** A concrete URL for a route pattern. */
const concrete = (url: string) =>
  url
    .replace(/:(orderId|returnId)/g, '6f1c1b9e-9d5e-4d0e-8d53-1f1b8e3f9a10')
    .replace(':id', '1')
    .replace(':step', 'reserveInventory')
    .replace(':correlationId', 'corr-1')
    .replace(':file', 'console.js');

test('problem responses say what they carry: 401 unauthorized, 403 forbidden, each status its codes', async () => {
  const document = (await app.inject({ url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, { responses: Record<string, { description: string; content: object }> }>>;
  };
  const detail = document.paths['/dead-letters/{id}']!.get!.responses;
  expect(detail['401']!.description).toMatch(/unauthorized/);
  expect(detail['403']!.description).toMatch(/forbidden/);
  expect(detail['401']!.description + detail['403']!.description).not.toMatch(/validation_failed|bad_request/);
  expect(Object.keys(detail['401']!.content)).toEqual(['application/problem+json']);
  const place = document.paths['/orders']!.post!.responses;
  for (const status of ['400', '401', '413', '415', '429', '500', '503']) expect(place).toHaveProperty(status);
  expect(document.paths['/orders/{orderId}']!.get!.responses).toHaveProperty('414');
  // Probes and metrics are not rate limited, and say so by not declaring 429.
  for (const path of ['/health', '/health/live', '/health/ready', '/metrics']) {
    expect({ path, declares429: '429' in document.paths[path]!.get!.responses }).toEqual({ path, declares429: false });
  }
});

test('every answer observed (success, validation, 401, 403, 404, 413, 414, 415, 429 …) is declared by the document', async () => {
  const routes = registered.filter(
    (r) => r.method !== 'HEAD' && !r.url.startsWith('/docs') && r.url !== '/orders/live',
  );
  // The open API: each route with no body, an empty body, and input the database cannot store.
  for (const { method, url } of routes) {
    const post = method === 'POST';
    await app.inject({ method: method as 'GET', url: concrete(url), ...(post ? { payload: {} } : {}) });
    await app.inject({
      method: method as 'GET',
      url: concrete(url),
      headers: { 'x-correlation-id': 'a\u0000' },
      ...(post ? { payload: { reason: 'r\u0000', note: 'n' } } : {}),
    });
    if (post) {
      await app.inject({
        method: 'POST',
        url: concrete(url),
        payload: 'x',
        headers: { 'content-type': 'application/xml' },
      });
      await app.inject({ method: 'POST', url: concrete(url), payload: { reason: 'r'.repeat(300 * 1024) } });
    }
    if (url.includes(':')) await app.inject({ method: method as 'GET', url: url.replace(/:\w+/, 'x'.repeat(300)) });
  }
  await app.inject({ url: '/orders?customerId=%00' });
  await app.inject({ url: '/orders/%E0%A4%A' });
  expect([...new Set(observed.map((o) => o.status))]).toEqual(expect.arrayContaining([200, 400, 404, 413, 414, 415]));
  expect(await undeclaredResponses(app, observed)).toEqual([]);

  // With API keys and a small rate limit: 401, 403 and 429 on every route that can give them.
  const guarded = buildApp({
    pool: db.pool,
    temporal: temporal.client,
    taskQueue: temporal.taskQueue,
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
    apiKeys: [CUSTOMER, OPERATOR],
    limits: { rateLimitPerMinute: 20 },
  });
  // The budgets are shared through the database: the open app above spent this address's.
  await db.pool.query('DELETE FROM api_rate_limits');
  const seen = recordResponses(guarded);
  try {
    for (const { method, url, access } of routes) {
      const target = { method: method as 'GET', url: concrete(url) };
      await guarded.inject(target);
      if (access === 'operator') await guarded.inject({ ...target, headers: { 'x-api-key': CUSTOMER.key } });
      await guarded.inject({ ...target, headers: { 'x-api-key': OPERATOR.key } });
    }
    expect(seen.map((o) => o.status)).toEqual(expect.arrayContaining([200, 401, 403, 429]));
    expect(await undeclaredResponses(guarded, seen)).toEqual([]);
  } finally {
    await guarded.close();
  }
});

test('the checker refuses an undeclared status, an undeclared media type and a body off its schema', async () => {
  const check = responseChecker((await app.inject({ url: '/docs/json' })).json());
  const base = { method: 'GET', route: '/orders/:orderId', url: '/orders/x', contentType: 'application/json' };
  expect(check({ ...base, status: 418, body: '{}' })).toMatch(/status 418 is not declared/);
  expect(check({ ...base, status: 404, body: '{}' })).toMatch(/media type application\/json is not declared/);
  expect(check({ ...base, status: 200, body: '{"orderId":1}' })).toMatch(/does not match the declared schema/);
  expect(check({ ...base, status: 401, contentType: 'application/problem+json', body: '{"code":"nope"}' })).toMatch(
    /does not match/,
  );
});
