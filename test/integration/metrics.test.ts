import { testDataConverter } from '../helpers/temporal';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/api/app';
import { CONSUMERS } from '../../src/consumers';
import type { Delivery } from '../../src/delivery/start';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { seedCatalog } from '../../src/store/catalog';
import { createTemporalClient } from '../../src/temporal/client';
import { freePort } from '../../src/util/free-port';
import { waitFor } from '../../src/util/wait';
import { startProjectDelivery } from '../helpers/api-world';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { metricNamesInDeployFiles } from '../helpers/dashboard-metrics';
import { isolatedTransport, openDeadLetter, removeBrokerResources, transportsUnderTest } from '../helpers/delivery';
import { testEnv } from '../helpers/env';
import { sagaCommand } from '../helpers/saga-cli';

// Metrics as an operator scrapes them: `saga worker` as its own process (saga figures and the
// Temporal SDK's worker metrics on its HEALTH_PORT), the relay and consumers on a broker, and
// the API. The figures move while orders run, and every metric the Grafana dashboard and the
// Prometheus alerts query appears in these real outputs.

const ROOT = path.resolve(__dirname, '../..');
const kind = transportsUnderTest().find((t) => t !== 'postgres') ?? 'postgres';
let db: TestDatabase;
let app: FastifyInstance;
let delivery: Delivery;
let transport: TransportSettings;
let worker: ChildProcess;
let workerOutput = '';
let healthPort: number;
let closeClient: () => Promise<void>;
const registry = new Registry();

beforeAll(async () => {
  db = await createTestDatabase();
  await seedCatalog(db.pool);
  const taskQueue = `metrics-${randomUUID()}`;
  healthPort = await freePort();
  worker = spawn(...sagaCommand('worker'), {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: testEnv('temporalAddress'),
      TASK_QUEUE: taskQueue,
      HEALTH_PORT: String(healthPort),
      WORKFLOW_BUNDLE: testEnv('workflowBundle'),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (c: Buffer) => (workerOutput += c.toString()));
  worker.stderr!.on('data', (c: Buffer) => (workerOutput += c.toString()));
  transport = isolatedTransport(kind);
  delivery = await startProjectDelivery(db, transport, registry);
  const temporal = await createTemporalClient({
    address: testEnv('temporalAddress'),
    namespace: 'default',
    dataConverter: testDataConverter(),
  });
  closeClient = () => temporal.connection.close();
  app = buildApp({
    pool: db.pool,
    temporal,
    taskQueue,
    orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
    transport: kind,
    registry,
  });
  await waitFor(
    async () =>
      (await fetch(`http://127.0.0.1:${healthPort}/health/ready`).catch(() => undefined))?.status === 200 || undefined,
    { timeoutMs: 60_000, description: `saga worker to be ready (${workerOutput})` },
  );
}, 120_000);

afterAll(async () => {
  await app?.close();
  await delivery?.stop();
  worker?.kill('SIGTERM');
  await closeClient?.();
  if (transport) await removeBrokerResources(transport, [...CONSUMERS]);
  await db?.drop();
});

const workerMetrics = async () => (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
const apiMetrics = async () => (await app.inject({ url: '/metrics' })).body;

/** The value of one series (exact labels as printed), or 0 when absent. */
function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function placeOrder(token: string): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    payload: {
      customerId: 'cust-metrics',
      items: [{ sku: 'SKU-0001', quantity: 1 }],
      payment: { token },
      shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
    },
  });
  expect(res.statusCode).toBe(202);
  return res.json<{ orderId: string }>().orderId;
}

test('saga, relay, consumer and dead-letter figures move while orders run; the dashboards query only metrics that exist', async () => {
  const before = { worker: await workerMetrics(), api: await apiMetrics() };
  const happy = await placeOrder('tok_visa');
  const declined = await placeOrder('tok_chargeDeclined');
  for (const orderId of [happy, declined]) {
    await waitFor(
      async () => {
        const res = await app.inject({ url: `/orders/${orderId}` });
        return res.statusCode === 200 && ['CONFIRMED', 'CANCELLED'].includes(res.json().status) ? true : undefined;
      },
      { timeoutMs: 60_000, description: `order ${orderId} to end in the read model` },
    );
  }
  await openDeadLetter(db.pool);
  // The worker counts right after each activity returns; the read model may be a moment ahead.
  const workerAfter = await waitFor(
    async () => {
      const text = await workerMetrics();
      const durations = ['completed', 'cancelled'].map(
        (o) => `saga_duration_seconds_count{saga="orderSaga",outcome="${o}"}`,
      );
      return durations.every((d) => value(text, d) - value(before.worker, d) === 1) ? text : undefined;
    },
    { timeoutMs: 10_000, description: 'the worker to record both sagas' },
  );
  const after = { worker: workerAfter, api: await apiMetrics() };

  const moved = (text: keyof typeof after, series: string) => value(after[text], series) - value(before[text], series);
  expect(moved('worker', 'saga_sagas_started_total{saga="orderSaga"}')).toBe(2);
  expect(moved('worker', 'saga_sagas_completed_total{saga="orderSaga"}')).toBe(1);
  expect(
    moved(
      'worker',
      'saga_sagas_cancelled_total{saga="orderSaga",reason="PaymentDeclined",failed_step="authorizePayment"}',
    ),
  ).toBe(1);
  expect(
    moved('worker', 'saga_compensations_total{saga="orderSaga",activity="releaseInventory",outcome="completed"}'),
  ).toBe(1);
  expect(
    moved(
      'worker',
      'saga_step_duration_seconds_count{saga="orderSaga",step="createOrder",kind="forward",outcome="completed"}',
    ),
  ).toBe(2);
  expect(moved('worker', 'saga_duration_seconds_count{saga="orderSaga",outcome="completed"}')).toBe(1);
  // The SDK's own worker metrics, through the same endpoint.
  expect(after.worker).toMatch(/^temporal_worker_task_slots_available\{/m);
  expect(after.worker).toMatch(/^temporal_activity_schedule_to_start_latency_bucket\{/m);
  // Delivery: the relay published, the consumers handled, the dead letter shows.
  expect(moved('api', `saga_relay_published_total{transport="${kind}"}`)).toBeGreaterThanOrEqual(
    kind === 'postgres' ? 0 : 10,
  );
  expect(
    moved('api', 'saga_consumer_deliveries_total{consumer="order-summary",outcome="handled"}'),
  ).toBeGreaterThanOrEqual(10);
  expect(value(after.api, 'saga_dead_letters{consumer="notifier",status="open"}')).toBe(1);
  expect(after.api).toMatch(/^saga_projection_lag_seconds\{projection="order-summary"\} \d/m);
  expect(after.api).toMatch(/^saga_approvals_waiting \d/m);
  // Stuck sagas by phase, so the alerts tell a stuck step from a stuck compensation: every
  // saga and phase has its series (counts come from the shared Temporal server, so any number).
  for (const saga of ['orderSaga', 'returnSaga']) {
    for (const phase of ['STEP_STUCK', 'COMPENSATION_STUCK']) {
      expect(after.api).toMatch(new RegExp(`^saga_sagas_stuck\\{saga="${saga}",phase="${phase}"\\} \\d`, 'm'));
    }
  }
  expect(after.api).not.toMatch(/^saga_sagas_stuck\{saga="\w+"\} /m);

  // Every metric a dashboard panel or an alert queries exists in what these processes serve.
  const served = new Set(
    `${after.worker}\n${after.api}`
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(/[{ ]/)[0]),
  );
  const files = metricNamesInDeployFiles();
  expect(files.length).toBeGreaterThanOrEqual(2);
  const missing = files.flatMap((f) => f.metrics.filter((m) => !served.has(m)).map((m) => `${f.file}: ${m}`));
  expect(missing).toEqual([]);
});
