import { randomUUID } from 'node:crypto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/api/app';
import { CONSUMERS } from '../../src/consumers';
import type { Delivery } from '../../src/delivery/start';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { seedCatalog } from '../../src/store/catalog';
import { startTracing, type Tracing } from '../../src/telemetry/tracing';
import { createTemporalClient } from '../../src/temporal/client';
import { waitFor } from '../../src/util/wait';
import { createWorker } from '../../src/worker';
import { startProjectDelivery } from '../helpers/api-world';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { isolatedTransport, removeBrokerResources } from '../helpers/delivery';
import { testEnv } from '../helpers/env';
import { installQuietRuntime, testDataConverter } from '../helpers/temporal';

// One order, one trace: the HTTP request, the workflow start, the workflow, every activity, the
// relay's publish of every event to a broker, and every consumer's handling of them, collected
// by the OpenTelemetry SDK's in-memory exporter from the real API, worker, relay and consumers.

const exporter = new InMemorySpanExporter();
const transportKind = process.env.SAGA_TEST_NATS_URL ? 'nats' : process.env.SAGA_TEST_AMQP_URL ? 'rabbitmq' : undefined;
let tracing: Tracing;
let db: TestDatabase;
let app: FastifyInstance;
let delivery: Delivery;
let transport: TransportSettings;
let worker: { worker: Worker; running: Promise<void>; connection: NativeConnection };
let closeClient: () => Promise<void>;

const maybe = transportKind ? describe : describe.skip;
if (!transportKind) process.stderr.write('[tracing] Skipping: no broker (SAGA_TEST_NATS_URL or SAGA_TEST_AMQP_URL).\n');

maybe(`tracing over ${transportKind}`, () => {
  beforeAll(async () => {
    installQuietRuntime();
    tracing = startTracing({ serviceName: 'saga-test', spanProcessor: new SimpleSpanProcessor(exporter) });
    db = await createTestDatabase();
    await seedCatalog(db.pool);
    const taskQueue = `tracing-${randomUUID()}`;
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
      deps: simulatedActivityDeps(db.pool),
      dataConverter: testDataConverter(),
      overrides: { shutdownGraceTime: '2 seconds' },
    });
    worker = { worker: w, running: w.run(), connection };
    transport = isolatedTransport(transportKind!);
    delivery = await startProjectDelivery(db, transport, new Registry());
    app = buildApp({
      pool: db.pool,
      temporal,
      taskQueue,
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
    await removeBrokerResources(transport, [...CONSUMERS]);
    await tracing?.shutdown();
    await db?.drop();
  });

  test('one trace from POST /orders through the workflow and activities to the relay and every consumer', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      payload: {
        customerId: 'cust-trace',
        items: [{ sku: 'SKU-0001', quantity: 1 }],
        payment: { token: 'tok_visa' },
        shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
      },
    });
    expect(res.statusCode).toBe(202);
    const { orderId } = res.json<{ orderId: string }>();
    const stream = `order-${orderId}`;
    const events = await waitFor(
      async () => {
        const { rows } = await db.pool.query<{ event_id: string; event_type: string; traceparent: string | null }>(
          `SELECT event_id, event_type, metadata->>'traceparent' AS traceparent FROM events WHERE stream_id = $1 ORDER BY stream_version`,
          [stream],
        );
        return rows.at(-1)?.event_type === 'order.confirmed' ? rows : undefined;
      },
      { timeoutMs: 60_000, description: 'the order to be confirmed' },
    );
    // Every consumer handled every event it takes (inbox), and its span has ended.
    const expectedConsumes = CONSUMERS.flatMap((c) =>
      events.filter((e) => c.handles.has(e.event_type)).map((e) => `consume ${c.name} ${e.event_type}`),
    );
    const spans = await waitFor(
      () => {
        const all = exporter.getFinishedSpans();
        const names = new Set(all.map((s) => s.name));
        return expectedConsumes.every((n) => names.has(n)) && names.has('RunWorkflow:orderSaga') ? all : undefined;
      },
      { timeoutMs: 60_000, description: 'every consumer span' },
    );

    const request = spans.find((s) => s.name === 'POST /orders')!;
    expect(request).toBeDefined();
    const traceId = request.spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    const names = inTrace.map((s) => s.name);
    // The whole path is ONE trace.
    expect(names).toEqual(expect.arrayContaining(['POST /orders', 'StartWorkflow:orderSaga', 'RunWorkflow:orderSaga']));
    for (const activity of [
      'createOrder',
      'reserveInventory',
      'authorizePayment',
      'scheduleShipment',
      'capturePayment',
      'confirmOrder',
    ]) {
      expect(names).toContain(`RunActivity:${activity}`);
    }
    for (const e of events) expect(names).toContain(`publish ${e.event_type}`);
    expect(names).toEqual(expect.arrayContaining(expectedConsumes));
    // Every event stores the trace context of the activity that appended it.
    for (const e of events) expect(e.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));

    // Causal order: each span's parent is in the trace and started no later than it, up to the request.
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    const ancestors = (span: ReadableSpan): ReadableSpan[] => {
      const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      return parent ? [parent, ...ancestors(parent)] : [];
    };
    for (const span of inTrace) {
      if (span === request) continue;
      const chain = ancestors(span);
      expect([span.name, chain.at(-1)?.name]).toEqual([span.name, 'POST /orders']);
      for (const a of chain) expect(hrMs(a.startTime)).toBeLessThanOrEqual(hrMs(span.startTime));
    }
    // A consumer's span continues from the relay's publish of that event, which continues from the activity.
    const confirmedConsume = inTrace.find((s) => s.name === 'consume notifier order.confirmed')!;
    const chain = ancestors(confirmedConsume).map((s) => s.name);
    expect(chain[0]).toBe('publish order.confirmed');
    expect(chain[1]).toBe('RunActivity:confirmOrder');
    expect(chain).toContain('RunWorkflow:orderSaga');
  });
});

const hrMs = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;
