import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { problemSchema } from '../../src/api/errors';
import { seedCatalog } from '../../src/store/catalog';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

// Property-based: random and malformed ids, query strings, headers and bodies sent to every
// route never produce a 5xx or a crash, and every error answer is a problem document.

let db: TestDatabase;
let temporal: TestTemporal;
let app: FastifyInstance;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedCatalog(db.pool);
  temporal = await connectTestTemporal(); // no worker: placed orders just wait on their queue
  app = buildApp({
    pool: db.pool,
    temporal: temporal.client,
    taskQueue: temporal.taskQueue,
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
    cancelWaitMs: 100,
    limits: { rateLimitPerMinute: false },
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await temporal?.close();
  await db?.drop();
});

const ROUTES = [
  ['GET', '/orders/:id'],
  ['GET', '/orders'],
  ['POST', '/orders'],
  ['GET', '/orders/:id/events'],
  ['GET', '/orders/:id/saga'],
  ['POST', '/orders/:id/approve'],
  ['POST', '/orders/:id/reject'],
  ['POST', '/orders/:id/cancel'],
  ['GET', '/orders/:id/notifications'],
  ['GET', '/products'],
  ['GET', '/correlations/:id'],
  ['GET', '/dead-letters'],
  ['GET', '/dead-letters/:id'],
  ['POST', '/dead-letters/:id/replay'],
  ['POST', '/dead-letters/:id/discard'],
  ['GET', '/health'],
  ['GET', '/health/live'],
  ['GET', '/health/ready'],
] as const;

const printable = fc.string({
  unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~ÿ€'.split('')),
});
const id = fc.oneof(
  fc.uuid(),
  fc.string({ maxLength: 50 }),
  fc.integer().map(String),
  fc.constantFrom('0', '-1', '1e99', '../../etc/passwd', '%00', 'null', 'undefined', 'x'.repeat(5000), '9'.repeat(40)),
);
const queryValue = fc.oneof(
  printable,
  fc.integer().map(String),
  fc.constantFrom('', 'PENDING', 'all', '2024-01-01T00:00:00Z'),
);
const query = fc.dictionary(
  fc.oneof(
    fc.constantFrom('status', 'limit', 'cursor', 'customerId', 'sagaPhase', 'createdAfter', 'consumer', 'eventType'),
    printable,
  ),
  queryValue,
  { maxKeys: 4 },
);
const validOrder = fc.record({
  customerId: fc.oneof(printable, fc.constant('cust-1')),
  items: fc.array(
    fc.record({
      sku: fc.oneof(fc.constantFrom('SKU-0001', 'SKU-SOLDOUT'), printable),
      quantity: fc.oneof(fc.integer(), fc.double()),
    }),
    {
      maxLength: 3,
    },
  ),
  payment: fc.record({ token: fc.oneof(printable, fc.constant('tok_visa')) }),
  shippingAddress: fc.record({
    line1: printable,
    city: printable,
    postalCode: printable,
    country: fc.oneof(printable, fc.constant('DE')),
  }),
});
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  validOrder.map((v) => JSON.stringify(v)),
  printable, // not JSON at all
  fc.constantFrom(
    '{"reason":',
    '[]',
    'null',
    '{"__proto__":{"polluted":1}}',
    '{"reason":"x"}',
    '{"note":"' + 'n'.repeat(600) + '"}',
  ),
);
const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-16',
      '',
    ),
    'x-correlation-id': printable,
    'idempotency-key': printable,
    'x-actor': printable,
  },
  { requiredKeys: [] },
);

test('random and malformed requests to every route: never a 5xx, every error a problem document', async () => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...ROUTES),
      id,
      query,
      body,
      headers,
      async ([method, template], rawId, q, payload, h) => {
        const url = `${template.replace(':id', encodeURIComponent(rawId))}?${new URLSearchParams(q).toString()}`;
        const res = await app.inject({
          method,
          url,
          headers: Object.fromEntries(Object.entries(h).filter(([, v]) => v !== '')),
          ...(payload === undefined || method === 'GET' ? {} : { payload }),
        });
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 500 && !(template === '/health' && res.statusCode === 503)) {
          throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`);
        }
        if (res.statusCode >= 400) {
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          const parsed = problemSchema.safeParse(res.json());
          if (!parsed.success) throw new Error(`${method} ${url}: not a problem document: ${res.body}`);
          expect(res.body).not.toMatch(/\n\s+at |node_modules|\/src\//);
        }
      },
    ),
    { numRuns: 3000 },
  );
  // The runs reached the handlers (successes) as well as the validation (400s).
  expect(seen.get(400)).toBeGreaterThan(100);
  expect([...seen.keys()].some((s) => s < 300)).toBe(true);
}, 600_000);
