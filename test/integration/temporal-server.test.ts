import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import pg from 'pg';
import { correlationClientInterceptor } from '../../src/correlation/client-interceptor';
import { simulatedActivityDeps } from '../../src/processes/activity-deps';
import { seedCatalog } from '../../src/store/catalog';
import { resolveTemporalServer } from '../../src/temporal/server-binary';
import { dynamicConfigPath, startTemporalServer, type RunningTemporalServer } from '../../src/temporal/server-cluster';
import { waitFor } from '../../src/util/wait';
import { createWorker } from '../../src/worker';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testEnv } from '../helpers/env';
import { eventTypes, orderInput, SAGA_EVENTS, startOrder } from '../helpers/orders';
import { installQuietRuntime, testDataConverter } from '../helpers/temporal';

// The production-like path: the real Temporal server (built from Go modules) keeping its
// state in PostgreSQL, and two workers on one task queue. Sagas run to completion and the
// histories show that both workers executed their tasks.

const ROOT = path.resolve(__dirname, '../..');
const suffix = randomUUID().slice(0, 8);
const databases = { main: `temporal_${suffix}`, visibility: `temporal_visibility_${suffix}` };
const port = 20_000 + Math.floor(Math.random() * 12_000); // below 32768: the server stores membership ports as smallint
let dir: string;
let db: TestDatabase;
let server: RunningTemporalServer | undefined;
const workers: { worker: Worker; running: Promise<void>; connection: NativeConnection }[] = [];

beforeAll(async () => {
  installQuietRuntime();
  dir = mkdtempSync(path.join(os.tmpdir(), 'saga-temporal-server-'));
  db = await createTestDatabase();
  await seedCatalog(db.pool);
}, 60_000);

afterAll(async () => {
  for (const w of workers) {
    if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
    await w.running.catch(() => undefined);
    await w.connection.close();
  }
  await server?.stop();
  const admin = new pg.Client({ connectionString: testEnv('pgAdminUrl') });
  await admin.connect();
  for (const name of Object.values(databases)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('runs sagas on the Temporal server on PostgreSQL, with tasks executed by both of two workers', async () => {
  const binaries = await resolveTemporalServer({ onProgress: () => undefined });
  server = await startTemporalServer({ binaries, postgresUrl: testEnv('pgAdminUrl'), databases, dataDir: dir, port });
  // The dynamic config it was given, and docker-compose.yml's, pass the server's own check:
  // known keys of the right types (an unknown key is only a warning, so the output is read).
  const validation = spawnSync(
    binaries.server,
    [
      'validate-dynamic-config',
      dynamicConfigPath({ dataDir: dir }),
      path.join(ROOT, 'deploy/temporal/dynamicconfig.yaml'),
    ],
    { encoding: 'utf8' },
  );
  expect({
    status: validation.status,
    problems: `${validation.stdout}${validation.stderr}`.match(/^\s+\w+:.*$/gm),
  }).toEqual({
    status: 0,
    problems: null,
  });

  for (const identity of ['worker-a', 'worker-b']) {
    const connection = await NativeConnection.connect({ address: server.address });
    const worker = await createWorker({
      connection,
      namespace: 'default',
      taskQueue: 'orders-on-postgres',
      deps: simulatedActivityDeps(db.pool),
      workflowBundle: { codePath: testEnv('workflowBundle') },
      dataConverter: testDataConverter(),
      overrides: { identity, shutdownGraceTime: '2 seconds' },
    });
    workers.push({ worker, running: worker.run(), connection });
  }

  const connection = await Connection.connect({ address: server.address });
  const client = new Client({
    connection,
    interceptors: { workflow: [correlationClientInterceptor()] },
    dataConverter: testDataConverter(),
  });
  try {
    // Both workers polling before the first saga starts: otherwise the first to poll may take
    // every first workflow task, and sticky queues keep each saga with it.
    await waitFor(
      async () => {
        const { pollers } = await client.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: 'orders-on-postgres' },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        const polling = new Set((pollers ?? []).map((p) => p.identity));
        return polling.has('worker-a') && polling.has('worker-b');
      },
      { timeoutMs: 30_000, description: 'both workers to poll the task queue' },
    );
    const inputs = Array.from({ length: 8 }, () => orderInput());
    const handles = await Promise.all(inputs.map((input) => startOrder(client, 'orders-on-postgres', input)));
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results.map((r) => r.status)).toEqual(inputs.map(() => 'CONFIRMED'));
    for (const input of inputs) expect(await eventTypes(db.pool, input.orderId)).toEqual([...SAGA_EVENTS.CONFIRMED]);

    // Who ran what: workflow and activity tasks name the worker that started them.
    const identities = new Set<string>();
    for (const handle of handles) {
      const history = await handle.fetchHistory();
      for (const e of history.events ?? []) {
        const identity =
          e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    }
    expect([...identities].sort()).toEqual(['worker-a', 'worker-b']);

    // The server keeps its state in PostgreSQL: the executions are rows there.
    const check = new pg.Client({ connectionString: testEnv('pgAdminUrl').replace(/\/[^/]*$/, `/${databases.main}`) });
    await check.connect();
    try {
      const { rows } = await check.query<{ n: number }>('SELECT count(*)::int AS n FROM executions');
      expect(rows[0]!.n).toBeGreaterThanOrEqual(inputs.length);
    } finally {
      await check.end();
    }
  } finally {
    await connection.close();
  }
}, 600_000);
