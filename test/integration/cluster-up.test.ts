import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { freePortBlock } from '../../src/util/free-port';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { testEnv } from '../helpers/env';
import { sagaCommand } from '../helpers/saga-cli';

// `saga cluster up` as a user runs it: the Temporal server on PostgreSQL with its Web UI, a
// worker, two API replicas behind the front door and a consumer as processes of their own. An
// order goes through the front door to CONFIRMED, the UI lists its workflow, and one Ctrl-C
// stops everything.

const ROOT = path.resolve(__dirname, '../..');
const temporalDatabase = `temporal_cli_${randomUUID().slice(0, 8)}`;
let db: TestDatabase;
let dataDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'saga-cluster-up-'));
});
afterAll(async () => {
  await db.drop();
  const admin = new pg.Client({ connectionString: testEnv('pgAdminUrl') });
  await admin.connect();
  for (const name of [temporalDatabase, `${temporalDatabase}_visibility`]) {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  await admin.end();
  await rm(dataDir, { recursive: true, force: true });
});

test('saga cluster up serves orders through the front door and the Temporal UI, and stops on Ctrl-C', async () => {
  const apiPort = await freePortBlock(6);
  const temporalPort = await freePortBlock(9);
  const uiPort = await freePortBlock(1);
  // Its roles then run the same build (the cluster spawns the entry it was started from).
  const child = spawn(
    ...sagaCommand(
      'cluster',
      'up',
      '--workers',
      '1',
      '--consumers',
      '1',
      '--temporal-port',
      String(temporalPort),
      '--temporal-database',
      temporalDatabase,
      '--data-dir',
      dataDir,
    ),
    {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        TRANSPORT: 'postgres',
        PORT: String(apiPort),
        TEMPORAL_UI_PORT: String(uiPort),
        LOG_LEVEL: 'warn',
        // As a user runs it: no keys configured, so the cluster makes its own payload key.
        PAYLOAD_KEYS: undefined,
        PAYLOAD_KEY_ID: undefined,
        PAYLOAD_KEY_FILE: undefined,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => output.includes('Press Ctrl-C to stop.') || child.exitCode !== null || undefined, {
      timeoutMs: 180_000,
      description: `saga cluster up to start (it said: ${output})`,
    });
    expect(child.exitCode).toBeNull();
    // Two API replicas, a worker and a consumer (no relay: TRANSPORT=postgres), and the UI.
    for (const name of ['api-1', 'api-2', 'worker-1', 'consume-1', 'temporal-ui']) expect(output).toContain(name);
    expect(output).not.toContain('relay-1');

    const api = `http://127.0.0.1:${apiPort}`;
    const placed = await fetch(`${api}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        customerId: 'cust-cluster',
        items: [{ sku: 'SKU-0001', quantity: 1 }],
        payment: { token: 'tok_visa' },
        shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
      }),
    });
    expect(placed.status).toBe(202);
    const { orderId, workflowId } = (await placed.json()) as { orderId: string; workflowId: string };
    await waitFor(
      async () =>
        ((await (await fetch(`${api}/orders/${orderId}`)).json()) as { status?: string }).status === 'CONFIRMED' ||
        undefined,
      { timeoutMs: 60_000, description: 'the order to be confirmed in the read model' },
    );
    // The replicas behind the front door listen on the ports above it.
    for (const port of [apiPort + 1, apiPort + 2]) {
      expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    }
    // The Web UI's API lists the saga's workflow from the server's visibility store.
    const listed = await waitFor(
      async () => {
        const res = await fetch(
          `http://127.0.0.1:${uiPort}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`,
        ).catch(() => undefined);
        const body = res?.ok
          ? ((await res.json()) as { executions?: { execution: { workflowId: string } }[] })
          : undefined;
        return body?.executions?.length ? body.executions : undefined;
      },
      { timeoutMs: 30_000, description: 'the Temporal UI to list the workflow' },
    );
    expect(listed[0]!.execution.workflowId).toBe(workflowId);
    // Encrypted with a key made once in the cluster's folder; the UI decodes through the API.
    expect(statSync(path.join(dataDir, 'payload-keys')).mode & 0o777).toBe(0o600);
    const settings = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`)).json()) as {
      Codec?: { Endpoint?: string };
    };
    expect(settings.Codec?.Endpoint).toBe(`http://127.0.0.1:${apiPort}/codec`);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  expect(output).toContain('Stopped.');
  expect(output).not.toMatch(/restarting it/); // Ctrl-C reached the supervisor only
  // Nothing left listening.
  expect(await fetch(`http://127.0.0.1:${apiPort + 1}/health/live`).catch(() => 'refused')).toBe('refused');
}, 300_000);
