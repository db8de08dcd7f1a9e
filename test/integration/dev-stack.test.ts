import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/util/free-port';
import { waitFor } from '../../src/util/wait';
import { embeddedPostgresProblem } from '../../src/store/embedded-postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { TEST_ENV } from '../helpers/env';

// `npm start` end to end: the real CLI process with an embedded PostgreSQL, a Temporal dev
// server with the Web UI, the worker and the API; then Ctrl-C and a restart.

const ROOT = path.resolve(__dirname, '../..');

interface Ports {
  api: number;
  temporal: number;
  ui: number;
  pg: number;
}

interface DevProcess {
  child: ChildProcess;
  output: () => string;
  /** npm's exit code, or the signal it re-raised on itself after its child stopped. */
  exit: Promise<number | NodeJS.Signals | null>;
}

/**
 * `npm start`, or with `built` what it runs after its build (`node dist/cli.js dev`): once the
 * first start has built the project, later ones need not compile it again.
 */
function startDev(dataDir: string, ports: Ports, databaseUrl: string | undefined, built = false): DevProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(ports.api),
    HOST: '127.0.0.1',
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_PORT: String(ports.ui),
    EMBEDDED_PG_PORT: String(ports.pg),
    LOG_LEVEL: 'warn',
  };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  // As a user runs it: no keys configured, so it makes its own payload key in DATA_DIR.
  delete env.PAYLOAD_KEYS;
  delete env.PAYLOAD_KEY_ID;
  delete env.PAYLOAD_KEY_FILE;
  if (process.env[TEST_ENV.temporalCli]) env.TEMPORAL_CLI = process.env[TEST_ENV.temporalCli];
  // Own process group, like a terminal's foreground job: Ctrl-C is sent to the whole group.
  const [command, args] = built ? [process.execPath, ['dist/cli.js', 'dev']] : ['npm', ['start']];
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | NodeJS.Signals | null>((resolve) =>
    // 'close' waits until every process sharing npm's output pipes (saga itself) has exited.
    child.once('close', (code, signal) => resolve(code ?? signal)),
  );
  return { child, output: () => output, exit };
}

async function waitUntilReady(dev: DevProcess) {
  let exited = false;
  void dev.exit.then(() => (exited = true));
  await waitFor(
    () => {
      if (exited) throw new Error(`saga dev exited during start-up:\n${dev.output()}`);
      return dev.output().includes('Press Ctrl-C to stop.');
    },
    { timeoutMs: 120_000, intervalMs: 200, description: 'saga dev to be ready' },
  );
}

/** Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. */
async function ctrlC(dev: DevProcess) {
  process.kill(-dev.child.pid!, 'SIGINT');
  const exit = await dev.exit;
  // npm re-raises SIGINT on itself once `saga dev` has exited; what matters is that
  // saga shut down in order (it prints "Stopped.") rather than being forced.
  expect([0, 'SIGINT']).toContain(exit);
  expect(dev.output()).toContain('Stopped.');
  expect(dev.output()).not.toContain('Forced exit');
}

async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  return found;
}

const order = {
  customerId: 'dev-stack-customer',
  items: [{ sku: 'SKU-0001', quantity: 1 }],
  payment: { token: 'tok_visa' },
  shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
};

async function listWorkflowIds(uiPort: number): Promise<string[]> {
  // The same HTTP API the Web UI's workflow list calls.
  const res = await fetch(`http://127.0.0.1:${uiPort}/api/v1/namespaces/default/workflows`);
  if (!res.ok) return [];
  const body = (await res.json()) as { executions?: { execution: { workflowId: string } }[] };
  return (body.executions ?? []).map((e) => e.execution.workflowId);
}

describe('saga dev (npm start)', () => {
  let dataDir: string;
  let ports: Ports;
  const started: DevProcess[] = [];
  // The embedded PostgreSQL is what `npm start` uses by default; where it cannot run here
  // (root in a 0700 checkout), the stack gets a fresh database through DATABASE_URL instead.
  let external: TestDatabase | undefined;
  let appDbUrl: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'saga-dev-'));
    await chmod(dataDir, 0o755);
    ports = { api: await freePort(), temporal: await freePort(), ui: await freePort(), pg: await freePort() };
    const problem = embeddedPostgresProblem(path.join(dataDir, 'postgres'));
    if (problem) {
      process.stderr.write(`[dev-stack] using DATABASE_URL: ${problem}\n`);
      external = await createTestDatabase({ migrate: false });
      appDbUrl = external.url;
    } else {
      appDbUrl = `postgres://postgres:postgres@127.0.0.1:${ports.pg}/saga`;
    }
  });

  afterAll(async () => {
    // Only after a failure is anything left: kill the groups and whatever used the folder.
    for (const dev of started) {
      try {
        process.kill(-dev.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const line of await processesMentioning(dataDir)) process.kill(Number(line.split(':')[0]), 'SIGKILL');
    await external?.drop();
  });

  it('starts everything, runs an order end to end, refuses a second start, stops cleanly and keeps state across a restart', async () => {
    const dev = startDev(dataDir, ports, external?.url);
    started.push(dev);
    await waitUntilReady(dev);
    expect(dev.output()).toContain(`http://localhost:${ports.api}`);
    expect(dev.output()).toContain(`:${ports.ui}`);

    // Encryption on by default: a key made once, owner-only; the UI decodes through the API.
    const keyFile = path.join(dataDir, 'payload-keys');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8');
    const uiSettings = (await (await fetch(`http://127.0.0.1:${ports.ui}/api/v1/settings`)).json()) as {
      Codec?: { Endpoint?: string };
    };
    expect(uiSettings.Codec?.Endpoint).toBe(`http://127.0.0.1:${ports.api}/codec`);

    const health = await fetch(`http://127.0.0.1:${ports.api}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ checks: { postgres: { status: 'up' }, temporal: { status: 'up' } } });

    const placed = await fetch(`http://127.0.0.1:${ports.api}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(order),
    });
    expect(placed.status).toBe(202);
    const { workflowId, orderId } = (await placed.json()) as { workflowId: string; orderId: string };

    const db = new pg.Client({ connectionString: appDbUrl });
    await db.connect();
    try {
      const event = await waitFor(
        async () => (await db.query('SELECT event_type FROM events WHERE stream_id = $1', [workflowId])).rows[0],
        { timeoutMs: 30_000, description: 'the order event in the embedded PostgreSQL' },
      );
      expect(event).toEqual({ event_type: 'order.created' });
    } finally {
      await db.end();
    }
    expect(await waitFor(async () => (await listWorkflowIds(ports.ui)).includes(workflowId) || undefined)).toBe(true);

    // No broker configured: the notifier reads the events table and tells the customer once.
    // Polled gently: the open API rate-limits anonymous callers, and a 429 is "not yet", not an answer.
    const notificationsOf = async () => {
      const res = await fetch(`http://127.0.0.1:${ports.api}/orders/${orderId}/notifications`);
      if (res.status !== 200) return [];
      return ((await res.json()) as { notifications: { kind: string; customerId: string }[] }).notifications;
    };
    const notified = await waitFor(
      async () => {
        const notifications = await notificationsOf();
        return notifications.some((n) => n.kind === 'order_confirmed') ? notifications : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'the order confirmation in customer_notifications' },
    );
    expect(notified).toEqual([expect.objectContaining({ kind: 'order_confirmed', customerId: order.customerId })]);

    // One /metrics for the one process: saga figures from its worker, the SDK's worker metrics, delivery.
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${ports.api}/metrics`)).text();
        return /^saga_sagas_completed_total\{saga="orderSaga"\} 1$/m.test(text) ? text : undefined;
      },
      { timeoutMs: 10_000, description: 'the completed saga on /metrics' },
    );
    expect(metrics).toMatch(/^temporal_worker_task_slots_available\{/m);
    expect(metrics).toMatch(/^saga_consumer_deliveries_total\{consumer="notifier",outcome="handled"\} [1-9]/m);

    // The operations console is served by the API, built by npm start's own build.
    const consolePage = await fetch(`http://127.0.0.1:${ports.api}/console`);
    expect(consolePage.status).toBe(200);
    expect(consolePage.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await consolePage.text()).toContain('<script src="/console/assets/console.js"></script>');
    expect((await fetch(`http://127.0.0.1:${ports.api}/console/assets/console.js`)).status).toBe(200);

    // The CLI finds the running stack by itself: no DATABASE_URL, no SAGA_API_URL.
    const cliEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
    delete cliEnv.DATABASE_URL;
    delete cliEnv.SAGA_API_URL;
    const listed = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const cli = spawn(process.execPath, ['dist/cli.js', 'dlq', 'list', '--json'], { cwd: ROOT, env: cliEnv });
      let out = '';
      cli.stdout.on('data', (c: Buffer) => (out += c.toString()));
      cli.stderr.on('data', (c: Buffer) => (out += c.toString()));
      cli.once('close', (code) => resolve({ code, out }));
    });
    expect(listed).toEqual({ code: 0, out: expect.stringContaining('"deadLetters": []') });

    // A second instance on the same data folder says so and exits non-zero.
    const second = startDev(
      dataDir,
      { ...ports, api: await freePort(), temporal: await freePort() },
      external?.url,
      true,
    );
    started.push(second);
    expect(await second.exit).toBe(2);
    expect(second.output()).toMatch(/already running \(pid \d+/);

    await ctrlC(dev);
    expect(await processesMentioning(dataDir)).toEqual([]);

    // State survives: the same folder restarts (no re-initdb), and the workflow is still listed.
    const again = startDev(dataDir, ports, external?.url, true);
    started.push(again);
    await waitUntilReady(again);
    expect(await listWorkflowIds(ports.ui)).toContain(workflowId);
    expect(readFileSync(keyFile, 'utf8')).toBe(key); // kept, not made anew
    // The consumers resume from their checkpoints: nothing is told twice after a restart.
    expect(await notificationsOf()).toEqual(notified);
    await ctrlC(again);
    expect(await processesMentioning(dataDir)).toEqual([]);
  });
});
