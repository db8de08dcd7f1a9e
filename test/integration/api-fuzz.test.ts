import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { problemSchema } from '../../src/api/errors';
import { seedCatalog } from '../../src/store/catalog';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { recordResponses, responseChecker, type ObservedResponse } from '../helpers/openapi-responses';
import { connectTestTemporal, type TestTemporal } from '../helpers/temporal';

// Property-based: random and malformed ids, query strings, headers and bodies sent to every
// route (as registered, not from a hand-kept list) never produce a 5xx or a crash, every error
// answer is a problem document, and every answer is one the OpenAPI document declares. The
// strings reach every field: NUL and other control characters, unpaired UTF-16 surrogates,
// over-long ids, malformed percent-escapes in the path and query, malformed JSON escapes.

let db: TestDatabase;
let temporal: TestTemporal;
let app: FastifyInstance;
let observed: ObservedResponse[];
let check: (o: ObservedResponse) => string | null;
const routes: { method: 'GET' | 'POST'; url: string }[] = [];

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
    // Neither limit is under test here (api-hardening.test.ts tests both): a run beside other
    // files once stalled this process's event loop 1.4 s and the API shed a request with 503.
    limits: { rateLimitPerMinute: false, maxEventLoopDelayMs: 0 },
  });
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      // The live stream never ends; the reference is not the API's.
      if ((method === 'GET' || method === 'POST') && route.url !== '/orders/live' && !route.url.startsWith('/docs')) {
        routes.push({ method: method as 'GET' | 'POST', url: route.url });
      }
    }
  });
  observed = recordResponses(app);
  await app.ready();
  check = responseChecker((await app.inject({ url: '/docs/json' })).json());
});
afterAll(async () => {
  await app?.close();
  await temporal?.close();
  await db?.drop();
});

const PRINTABLE = ' !"#$%&\'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~ÿ€'.split('');
/** Characters PostgreSQL cannot store, other control characters, a surrogate pair, escapes. */
const NASTY = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u001f',
  '\u007f',
  '\u0085',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  '%',
  '\\',
];
const printable = fc.string({ unit: fc.constantFrom(...PRINTABLE) });
const nasty = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...PRINTABLE, ...NASTY), minLength: 1, maxLength: 20 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY).map((c) => `a${c}b`) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(101), 'x'.repeat(300), 'x'.repeat(5000)) },
  { weight: 1, arbitrary: printable },
);
/** A field's value: usually a good one (so the others are what is tested), else nasty text. */
const text = (good: string) => fc.oneof(fc.constant(good), nasty);

/** Percent-encodes what encodeURIComponent can, and writes an unpaired surrogate as its (invalid) UTF-8 form. */
const encodeLoose = (s: string) =>
  s
    .split(/([\ud800-\udfff])/)
    .map((part) => (/^[\ud800-\udfff]$/.test(part) ? '%ED%A0%80' : encodeURIComponent(part)))
    .join('');
const MALFORMED_ESCAPES = ['%', '%E0%A4%A', '%ZZ', '%00', '%ED%A0%80', '%C0%80', '%FF', '%u0000'];
const segment = fc.oneof(
  fc.uuid(),
  fc.integer().map(String),
  fc.constantFrom('reserveInventory', 'authorizePayment', 'console.js', 'corr-1', '1'),
  nasty.map(encodeLoose),
  fc.constantFrom(...MALFORMED_ESCAPES, 'x'.repeat(300), '..'),
);
const QUERY_NAMES = [
  'status',
  'limit',
  'cursor',
  'customerId',
  'sagaPhase',
  'createdAfter',
  'returnStatus',
  'consumer',
  'eventType',
  'streamId',
  'reason',
  'targetType',
  'targetId',
];
const query = fc.array(
  fc.tuple(
    fc.oneof(fc.constantFrom(...QUERY_NAMES), nasty.map(encodeLoose)),
    fc.oneof(
      fc.constantFrom('', 'PENDING', 'all', '10', '2024-01-01T00:00:00Z'),
      nasty.map(encodeLoose),
      fc.constantFrom(...MALFORMED_ESCAPES),
    ),
  ),
  { maxLength: 4 },
);
const order = fc.record({
  customerId: text('cust-1'),
  items: fc.array(
    fc.record({
      sku: text('SKU-0001'),
      quantity: fc.oneof(fc.constant(1), fc.integer(), fc.double()),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  payment: fc.record({ token: text('tok_visa') }),
  shippingAddress: fc.record({
    line1: text('1 Main St'),
    city: text('Berlin'),
    postalCode: text('10115'),
    country: text('DE'),
  }),
});
const actionBody = fc.record(
  {
    reason: text('because'),
    note: text('a note'),
    consumer: text('order-summary'),
    eventType: text('order.created'),
    from: text('2024-01-01T00:00:00Z'),
    dryRun: fc.boolean(),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  order.map((v) => JSON.stringify(v)),
  actionBody.map((v) => JSON.stringify(v)),
  fc.dictionary(nasty, nasty, { maxKeys: 3 }).map((v) => JSON.stringify(v)),
  printable, // not JSON at all
  fc.constantFrom(
    '{"reason":',
    '[]',
    'null',
    '{"__proto__":{"polluted":1}}',
    '{"reason":"x"}',
    '{"note":"' + 'n'.repeat(600) + '"}',
    // JSON escapes the database refuses, and malformed ones.
    '{"reason":"\\u0000"}',
    '{"reason":"a\\ud800"}',
    '{"customerId":"\\udc00x","items":[{"sku":"SKU-0001","quantity":1}]}',
    '{"a\\u0000":"b"}',
    '{"reason":"\\x"}',
    '{"reason":"\\u12"}',
    '{"reason":"\\ud800\\u0000"}',
  ),
);
/** Header values are bytes: no UTF-16 beyond Latin-1 (Node refuses those before fastify sees them). */
const headerText = nasty.map((s) => s.replace(/[^\u0000-\u00ff]/g, '?'));
const headers = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-16',
      'application/xml',
      '',
    ),
    'x-correlation-id': fc.oneof(printable, headerText),
    'idempotency-key': fc.oneof(printable, headerText),
    'x-actor': fc.oneof(printable, headerText),
    'x-api-key': headerText,
  },
  { requiredKeys: [] },
);

const SERVICE_UNAVAILABLE_BY_DESIGN = new Set(['/health', '/health/ready', '/console', '/console/assets/:file']);

test('random and malformed requests to every route: never a 5xx, every error a problem document, every answer declared', async () => {
  expect(routes.length).toBeGreaterThanOrEqual(30);
  const seen = new Map<number, number>();
  let withNul = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...routes),
      fc.array(segment, { minLength: 3, maxLength: 3 }),
      query,
      body,
      headers,
      async ({ method, url: template }, segments, q, payload, h) => {
        let i = 0;
        const path = template.replace(/:\w+/g, () => segments[i++ % segments.length]!);
        const url = `${path}?${q.map(([k, v]) => `${k}=${v}`).join('&')}`;
        const request = {
          method,
          url,
          headers: Object.fromEntries(Object.entries(h).filter(([, v]) => v !== '')),
          ...(payload === undefined || method === 'GET' ? {} : { payload }),
        };
        if (/%00|\u0000|\\u0000/.test(JSON.stringify(request))) withNul++;
        const res = await app.inject(request);
        const answer = observed.at(-1)!;
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 500 && !(SERVICE_UNAVAILABLE_BY_DESIGN.has(template) && res.statusCode === 503)) {
          throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`);
        }
        const undeclared = check(answer);
        if (undeclared) throw new Error(undeclared);
        if (res.statusCode >= 400 && !String(res.headers['content-type']).startsWith('application/json')) {
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          const parsed = problemSchema.safeParse(res.json());
          if (!parsed.success) throw new Error(`${method} ${url}: not a problem document: ${res.body}`);
          expect(res.body).not.toMatch(/\n\s+at |node_modules|\/src\//);
        }
      },
    ),
    { numRuns: 3000 },
  );
  // The runs reached the handlers (successes) as well as the validation (400s) and the router (414).
  expect(seen.get(400)).toBeGreaterThan(100);
  expect(seen.get(414)).toBeGreaterThan(0);
  expect([...seen.keys()].some((s) => s < 300)).toBe(true);
  expect(withNul).toBeGreaterThan(100);
  // And the door named the field for text the database cannot store.
  const refused = observed.filter((o) => o.status === 400 && /NUL characters|unpaired UTF-16/.test(o.body));
  expect(refused.length).toBeGreaterThan(50);
}, 600_000);
