import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { seedCatalog } from '../../src/store/catalog';
import { FAST_SQLITE_PRAGMAS, startDevServer, type RunningDevServer } from '../../src/temporal/dev-server';
import { freePort } from '../../src/util/free-port';
import { waitFor } from '../../src/util/wait';
import { createWorker } from '../../src/worker';
import { correlationClientInterceptor } from '../../src/correlation/client-interceptor';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testEnv } from '../helpers/env';
import { eventTypes, orderInput, SAGA_EVENTS, startOrder } from '../helpers/orders';
import { installQuietRuntime, testDataConverter } from '../helpers/temporal';

// `npm start`'s dev server keeps its state in SQLite with WAL and synchronous=normal (fast
// commits). Restart safety must not suffer: the server is SIGKILLed while sagas are in
// flight, restarted on the same file, and every saga still ends with exactly its events.

const SAGAS = 12;
let dir: string;
let db: TestDatabase;
let server: RunningDevServer | undefined;
let worker: Worker | undefined;
let running: Promise<void> | undefined;
let workerConnection: NativeConnection | undefined;

beforeAll(async () => {
  installQuietRuntime();
  dir = mkdtempSync(path.join(os.tmpdir(), 'saga-devserver-'));
  db = await createTestDatabase();
  await seedCatalog(db.pool);
});
afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await workerConnection?.close();
  await server?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

it('defaults to WAL with synchronous=normal for a file-backed server', () => {
  expect(FAST_SQLITE_PRAGMAS).toEqual({ journal_mode: 'wal', synchronous: 'normal' });
});

it('loses nothing when the file-backed dev server is killed mid-flight and restarted', async () => {
  const port = await freePort();
  const start = () =>
    startDevServer({
      cli: { path: testEnv('temporalCli'), source: 'env' },
      port,
      dbFilename: path.join(dir, 'temporal.sqlite'),
    });
  server = await start();
  const address = server.address;
  workerConnection = await NativeConnection.connect({ address });
  worker = await createWorker({
    connection: workerConnection,
    namespace: 'default',
    taskQueue: 'persistence',
    deps: simulatedActivityDeps(db.pool),
    workflowBundle: { codePath: testEnv('workflowBundle') },
    dataConverter: testDataConverter(),
    overrides: { shutdownGraceTime: '2 seconds' },
  });
  running = worker.run();

  const connection = await Connection.connect({ address });
  const client = new Client({
    connection,
    interceptors: { workflow: [correlationClientInterceptor()] },
    dataConverter: testDataConverter(),
  });
  const inputs = Array.from({ length: SAGAS }, (_, i) =>
    orderInput(i % 4 === 3 ? { paymentToken: 'tok_chargeDeclined' } : {}),
  );
  for (const input of inputs) await startOrder(client, 'persistence', input);
  await connection.close();

  // Kill it while sagas are part-way through (some events appended, not all sagas finished).
  await waitFor(
    async () => {
      const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events`);
      return rows[0]!.n >= SAGAS ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 20, description: 'sagas under way' },
  );
  process.kill(server.pid!, 'SIGKILL');
  await waitFor(
    async () => {
      try {
        process.kill(server!.pid!, 0);
        return undefined;
      } catch {
        return true;
      }
    },
    { timeoutMs: 10_000, description: 'the dev server to be gone' },
  );
  server = await start();

  const after = await Connection.connect({ address });
  const restarted = new Client({ connection: after, dataConverter: testDataConverter() });
  try {
    const results = await Promise.all(
      inputs.map((input) => restarted.workflow.getHandle(`order-${input.orderId}`).result()),
    );
    results.forEach((r, i) => expect(r.status).toBe(i % 4 === 3 ? 'CANCELLED' : 'CONFIRMED'));
  } finally {
    await after.close();
  }
  for (const [i, input] of inputs.entries()) {
    expect(await eventTypes(db.pool, input.orderId)).toEqual([
      ...(i % 4 === 3 ? SAGA_EVENTS.DECLINED : SAGA_EVENTS.CONFIRMED),
    ]);
  }
});
