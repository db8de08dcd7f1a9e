import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/api/app';
import { CONSUMERS } from '../../src/consumers';
import type { Delivery } from '../../src/delivery/start';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { createLogger, type Logger } from '../../src/logger';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { seedCatalog } from '../../src/store/catalog';
import { startTracing, type Tracing } from '../../src/telemetry/tracing';
import { createTemporalClient } from '../../src/temporal/client';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { waitFor } from '../../src/util/wait';
import { createWorker } from '../../src/worker';
import { startProjectDelivery } from '../helpers/api-world';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { isolatedTransport, removeBrokerResources } from '../helpers/delivery';
import { testEnv } from '../helpers/env';
import { testDataConverter } from '../helpers/temporal';

// One order from POST /orders to order.confirmed through the real API, worker (with the
// Temporal SDK's own logs routed through our logger), consumers and tracing, logging at debug:
// no log line and no span (name, attribute, event, status) carries the customer id, the
// shipping address or the payment token of the order.

const exporter = new InMemorySpanExporter();
const lines: string[] = [];
const captured = new Writable({
  write(chunk: Buffer, _enc, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

const tag = randomBytes(4).toString('hex');
const PERSONAL = {
  customerId: `cust-pii-${tag}`,
  line1: `17 Hidden Lane ${tag}`,
  paymentToken: `tok_pii_${tag}`,
};

let logger: Logger;
let tracing: Tracing;
let db: TestDatabase;
let app: FastifyInstance;
let delivery: Delivery;
let transport: TransportSettings;
let worker: { worker: Worker; running: Promise<void>; connection: NativeConnection };
let closeClient: () => Promise<void>;

beforeAll(async () => {
  logger = createLogger('debug', captured, { personalData: false });
  // The SDK's logs (activity and workflow failures, worker lifecycle) go through our logger, as in `saga worker`.
  installTemporalRuntime(logger);
  tracing = startTracing({ serviceName: 'saga-test', spanProcessor: new SimpleSpanProcessor(exporter) });
  db = await createTestDatabase();
  await seedCatalog(db.pool);
  const taskQueue = `personal-data-${randomUUID()}`;
  const temporal = await createTemporalClient({
    address: testEnv('temporalAddress'),
    namespace: 'default',
    dataConverter: testDataConverter(),
  });
  closeClient = () => temporal.connection.close();
  const connection = await NativeConnection.connect({ address: testEnv('temporalAddress') });
  // No pre-built bundle: the worker bundles the workflows with the tracing interceptors.
  const w = await createWorker({
    connection,
    namespace: 'default',
    taskQueue,
    dataConverter: testDataConverter(),
    deps: simulatedActivityDeps(db.pool),
    overrides: { shutdownGraceTime: '2 seconds' },
  });
  worker = { worker: w, running: w.run(), connection };
  transport = process.env.SAGA_TEST_AMQP_URL ? isolatedTransport('rabbitmq') : { kind: 'postgres' };
  delivery = await startProjectDelivery(db, transport, new Registry(), logger.child({ component: 'delivery' }));
  app = buildApp({
    pool: db.pool,
    temporal,
    taskQueue,
    logger,
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
  });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await delivery?.stop();
  if (worker?.worker.getState() === 'RUNNING') worker.worker.shutdown();
  await worker?.running;
  await worker?.connection.close();
  await closeClient?.();
  if (transport && transport.kind !== 'postgres') await removeBrokerResources(transport, [...CONSUMERS]);
  await tracing?.shutdown();
  await db?.drop();
});

/** Everything a span says, as text: name, attributes, events with theirs, status, links. */
const spanText = (s: ReadableSpan) =>
  JSON.stringify({
    name: s.name,
    attributes: s.attributes,
    events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    status: s.status,
    links: s.links.map((l) => l.attributes),
    resource: s.resource.attributes,
  });

test('a confirmed order leaves no customer id, address or payment token in logs or spans', async () => {
  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    payload: {
      customerId: PERSONAL.customerId,
      items: [{ sku: 'SKU-0001', quantity: 1 }],
      payment: { token: PERSONAL.paymentToken },
      shippingAddress: { line1: PERSONAL.line1, city: 'Berlin', postalCode: '10115', country: 'DE' },
    },
  });
  expect(res.statusCode).toBe(202);
  const { orderId } = res.json<{ orderId: string }>();

  // The saga ran to its end with these values (they reached the database), and every consumer
  // handled order.confirmed: the logs and spans below cover the whole path.
  await waitFor(
    async () => {
      const { rows } = await db.pool.query<{ customer_id: string }>(
        `SELECT customer_id FROM order_summary WHERE order_id = $1 AND status = 'CONFIRMED'`,
        [orderId],
      );
      return rows[0]?.customer_id === PERSONAL.customerId || undefined;
    },
    { timeoutMs: 60_000, description: 'the order to be confirmed in the read model' },
  );
  const expectedConsumes = CONSUMERS.filter((c) => c.handles.has('order.confirmed')).map(
    (c) => `consume ${c.name} order.confirmed`,
  );
  const spans = await waitFor(
    () => {
      const all = exporter.getFinishedSpans();
      const names = new Set(all.map((s) => s.name));
      return expectedConsumes.every((n) => names.has(n)) && names.has('RunWorkflow:orderSaga') ? all : undefined;
    },
    { timeoutMs: 60_000, description: 'every span of the order' },
  );
  // A customer's order list names the customer in its query.
  const list = await app.inject({ method: 'GET', url: `/orders?customerId=${PERSONAL.customerId}` });
  expect(list.statusCode).toBe(200);
  expect(list.json<{ orders: { orderId: string }[] }>().orders.map((o) => o.orderId)).toEqual([orderId]);

  const names = spans.map((s) => s.name);
  expect(names).toEqual(
    expect.arrayContaining(['POST /orders', 'RunActivity:createOrder', 'RunActivity:authorizePayment']),
  );

  // The logs cover the API, the consumers and the order itself (else the search proves nothing).
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(parsed.some((l) => l.component === 'api' && l.msg === 'incoming request')).toBe(true);
  expect(parsed.some((l) => l.component === 'consumers')).toBe(true);
  expect(parsed.map((l) => (l.req as { url?: string } | undefined)?.url)).toContain(
    '/orders?customerId=%5Bredacted%5D',
  );
  // The Temporal SDK's lines about the order's workflow and activities.
  const sdkLines = parsed.filter((l) => l.component === 'temporal' && l.workflowId === `order-${orderId}`);
  expect(sdkLines.map((l) => l.msg)).toEqual(expect.arrayContaining(['Workflow completed', 'Activity completed']));

  const leaks = (text: string) => Object.values(PERSONAL).filter((v) => text.includes(v));
  expect(lines.map((l) => ({ line: l, leaks: leaks(l) })).filter((l) => l.leaks.length)).toEqual([]);
  expect(spans.map((s) => ({ span: s.name, leaks: leaks(spanText(s)) })).filter((s) => s.leaks.length)).toEqual([]);
});
