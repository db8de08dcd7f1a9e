import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

// The OpenAPI document is generated from the same zod schemas that validate requests and
// responses: it must validate, and list every route the API serves, with its responses.

let db: TestDatabase;
let temporal: TestTemporal;
let app: FastifyInstance;
const registered: { method: string; url: string }[] = [];

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
    for (const method of [route.method].flat()) registered.push({ method, url: route.url });
  });
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
