import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../../src/api/app';
import { withTransaction } from '../../src/store/pool';
import { appendToStream } from '../../src/store/event-store';
import { waitFor } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { openDeadLetter } from '../helpers/delivery';
import { untilCommittedReadable } from '../../src/delivery/reader';
import { testEnv } from '../helpers/env';
import { connectTestTemporal } from '../helpers/temporal';
import { sagaCommand } from '../helpers/saga-cli';

// The `saga` command as users run it: bad input gets a message and a non-zero exit, no stack trace.

const ROOT = path.resolve(__dirname, '../..');

async function saga(args: string[], env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete base[k];
  try {
    const { stdout, stderr } = await promisify(execFile)(...sagaCommand(...args), {
      cwd: ROOT,
      env: base,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A long-running `saga` role with a probe port; `output` collects what it printed. */
function startRole(args: string[], env: NodeJS.ProcessEnv) {
  const healthPort = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(...sagaCommand(...args), {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', HEALTH_PORT: String(healthPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  return {
    child,
    /** What it printed so far. */
    get output() {
      return output;
    },
    exited: new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
    probe: (path: string) => fetch(`http://127.0.0.1:${healthPort}${path}`),
  };
}

describe('saga CLI', () => {
  it('names an invalid variable and exits 2', async () => {
    const { code, stderr } = await saga(['migrate'], { PORT: 'eighty', DATABASE_URL: 'postgres://x@127.0.0.1:1/x' });
    expect(code).toBe(2);
    expect(stderr).toContain('PORT:');
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('says which variable a command needs', async () => {
    const { code, stderr } = await saga(['worker'], { DATABASE_URL: undefined });
    expect(code).toBe(2);
    expect(stderr).toMatch(/DATABASE_URL: is required for this command/);
  });

  it.each(['worker', 'api'])('refuses to start %s without payload keys, naming PAYLOAD_KEYS', async (role) => {
    const { code, stderr } = await saga([role], {
      DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'no-keys-')), // no local key file there
      PAYLOAD_KEYS: undefined,
      PAYLOAD_KEY_FILE: undefined,
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/PAYLOAD_KEYS: is required: payloads sent to Temporal are encrypted/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('saga payload-key prints a key that PAYLOAD_KEYS accepts', async () => {
    const { code, stdout } = await saga(['payload-key', '--id', 'k1']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^k1:[A-Za-z0-9+/]{43}=$/);
    const bad = await saga(['payload-key', '--id', 'not an id']);
    expect(bad.code).toBe(2);
  });

  it('refuses a worker wired to an adapter that does not exist, at start-up, naming the choices', async () => {
    const { code, stderr } = await saga(['worker'], {
      DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
      PAYMENT_ADAPTER: 'acme',
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/PAYMENT_ADAPTER: .*simulator/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('loads the plugins SAGA_PLUGINS names before the configuration, and names a missing one', async () => {
    const missing = await saga(['worker'], {
      SAGA_PLUGINS: './no-such.plugin.js',
      DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('SAGA_PLUGINS: cannot find the module ./no-such.plugin.js');
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    // The plugin's adapter is a valid choice; a wrong one lists it among the registered.
    const wrong = await saga(['worker'], {
      SAGA_PLUGINS: './test/fixtures/plugins/acme.plugin.ts',
      NODE_OPTIONS: '--import tsx', // the fixture plugin is TypeScript
      DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
      PAYMENT_ADAPTER: 'acme-typo',
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/PAYMENT_ADAPTER: no such adapter; registered: simulator, acme /);
  });

  it('refuses an unknown option with a non-zero exit', async () => {
    const { code, stderr } = await saga(['catalog', '--frobnicate']);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/unknown option '--frobnicate'/);
  });

  it('catalog --check passes on the committed catalog and docs', async () => {
    const { code, stdout } = await saga(['catalog', '--check']);
    expect(code).toBe(0);
    expect(stdout).toContain('Event catalog is compatible and its docs are current.');
  });

  it('refuses relay and consumer commands that cannot run, naming why', async () => {
    const url = 'postgres://x@127.0.0.1:1/x';
    const relay = await saga(['relay'], { DATABASE_URL: url, TRANSPORT: 'postgres' });
    expect(relay.code).toBe(2);
    expect(relay.stderr).toMatch(/TRANSPORT=postgres needs no relay/);
    const noBroker = await saga(['relay'], { DATABASE_URL: url, TRANSPORT: 'rabbitmq', AMQP_URL: undefined });
    expect(noBroker.code).toBe(2);
    expect(noBroker.stderr).toMatch(/AMQP_URL: is required when TRANSPORT=rabbitmq/);
    const unknown = await saga(['consume', 'nope'], { DATABASE_URL: url });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown consumer nope \(known: order-summary, notifier\)/);
  });
});

describe('saga commands on a database', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('saga dlq lists, shows and discards a dead letter through the API, recording who acted; bad ids and refusals exit 1', async () => {
    // Operator commands are API clients: a real API on a free port, reached through SAGA_API_URL.
    const temporal = await connectTestTemporal();
    const app = buildApp({
      pool: db.pool,
      temporal: temporal.client,
      taskQueue: temporal.taskQueue,
      orders: { approvalThresholdCents: 100_000, approvalTimeout: '1h' },
    });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const env = {
        SAGA_API_URL: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
        SAGA_API_KEY: undefined,
        DATABASE_URL: undefined,
      };
      const id = await openDeadLetter(db.pool);
      const list = await saga(['dlq', 'list', '--consumer', 'notifier'], env);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`^${id}\\topen\\tnotifier\\torder\\.confirmed`, 'm'));

      const [bad, missing] = await Promise.all([
        saga(['dlq', 'show', 'abc'], env),
        saga(['dlq', 'replay', '987654321'], env),
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/A dead letter id is a positive integer/);
      expect(bad.stderr).not.toMatch(/\n\s+at /);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe('saga: No dead letter 987654321\n');

      const discard = await saga(['dlq', 'discard', String(id), '--actor', 'ops-ci', '--note', 'test'], env);
      expect(discard.code).toBe(0);
      expect(discard.stdout).toContain(`Dead letter ${id} (notifier, order.confirmed`);
      expect(discard.stdout).toContain('): discarded');
      const [shown, human] = await Promise.all([
        saga(['dlq', 'show', String(id), '--json'], env),
        saga(['dlq', 'show', String(id)], env),
      ]);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        status: 'discarded',
        // With an open API, the --actor the CLI sends (X-Actor) is who acted.
        actions: [{ action: 'discard', actor: 'api:ops-ci', outcome: 'discarded', detail: 'test' }],
      });
      expect(human.stdout).toMatch(new RegExp(`^Dead letter ${id} \\(discarded\\)\n`));
      expect(human.stdout).toMatch(/discard by api:ops-ci: discarded — test/);
      const again = await saga(['dlq', 'discard', String(id)], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^saga: .*already discarded/);
    } finally {
      await app.close();
      await temporal.close();
    }
  });

  it('saga worker checks the search attributes, answers readiness once polling, and drains on SIGTERM', async () => {
    const role = startRole(['worker'], {
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: testEnv('temporalAddress'),
      TASK_QUEUE: `cli-worker-${randomUUID()}`,
      LOG_LEVEL: 'info', // its 'worker running' line names the workflow bundle
    });
    try {
      await waitFor(
        async () => {
          const res = await role.probe('/health/ready').catch(() => undefined);
          return res?.status === 200 ? true : undefined;
        },
        { timeoutMs: 60_000, description: `saga worker to be ready (it said: ${role.output})` },
      );
      expect((await role.probe('/health/live')).status).toBe(200);
      // Started from dist/: the bundle the build ships, not webpack at start.
      const running = await waitFor(() => role.output.split('\n').find((l) => l.includes('worker running')), {
        timeoutMs: 10_000,
        description: `saga worker to log that it runs (it said: ${role.output})`,
      });
      expect(JSON.parse(running)).toMatchObject({ workflowBundle: path.join(ROOT, 'dist', 'workflow-bundle.js') });
    } finally {
      role.child.kill('SIGTERM');
    }
    expect(await role.exited).toBe(0);
    expect(role.output).not.toMatch(/\n\s+at /);
  });

  it('saga consume runs the notifier on the events table, exports its spans over OTLP and stops cleanly on SIGTERM', async () => {
    // A stand-in OpenTelemetry collector: what the role POSTs to /v1/traces (OTLP/HTTP, protobuf).
    const exported: { path: string; body: Buffer }[] = [];
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        exported.push({ path: req.url ?? '', body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const orderId = randomUUID();
    await db.pool.query('INSERT INTO orders (order_id, customer_id) VALUES ($1, $2)', [orderId, 'cust-cli']);
    await withTransaction(db.pool, (tx) =>
      appendToStream(tx, `order-${orderId}`, 0, [{ eventType: 'order.confirmed', payload: { orderId } }]),
    );
    const role = startRole(['consume', 'notifier'], {
      DATABASE_URL: db.url,
      TRANSPORT: 'postgres',
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
    });
    try {
      const rows = await waitFor(
        async () => {
          const { rows } = await db.pool.query(
            'SELECT kind, customer_id FROM customer_notifications WHERE order_id = $1',
            [orderId],
          );
          return rows.length ? rows : undefined;
        },
        { timeoutMs: 30_000, description: `the notification (saga consume said: ${role.output})` },
      );
      expect(rows).toEqual([{ kind: 'order_confirmed', customer_id: 'cust-cli' }]);
      // Probes an orchestrator uses: live, ready while it takes work, and the delivery metrics.
      expect((await role.probe('/health/live')).status).toBe(200);
      expect((await role.probe('/health/ready')).status).toBe(200);
      expect(await (await role.probe('/metrics')).text()).toMatch(/^saga_/m);
    } finally {
      role.child.kill('SIGTERM');
    }
    expect(await role.exited).toBe(0);
    expect(role.output).not.toMatch(/\n\s+at /);
    // Shutdown flushed the consumer's span for the event to the collector.
    collector.close();
    const traces = exported.filter((e) => e.path === '/v1/traces');
    expect(traces.length).toBeGreaterThan(0);
    expect(Buffer.concat(traces.map((t) => t.body)).toString('latin1')).toContain('consume notifier order.confirmed');
  });

  it('saga projections rebuild order-summary replays the log and swaps the table in; unknown names exit 2', async () => {
    const env = { DATABASE_URL: db.url };
    const unknown = await saga(['projections', 'rebuild', 'nope'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown projection nope \(known: order-summary\)/);
    const orderId = randomUUID();
    await withTransaction(db.pool, (tx) =>
      appendToStream(tx, `order-${orderId}`, 0, [
        {
          eventType: 'order.created',
          schemaVersion: 1,
          payload: {
            orderId,
            customerId: 'cust-rebuild',
            items: [{ sku: 'SKU-0001', quantity: 1 }],
            shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
          },
        },
      ]),
    );
    await untilCommittedReadable(db.pool); // what the rebuild reads
    const rebuilt = await saga(['projections', 'rebuild', 'order-summary'], env);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.stdout).toMatch(/Rebuilt order-summary: 1 orders from \d+ events .* swapped in\./);
    const { rows } = await db.pool.query('SELECT customer_id, status FROM order_summary WHERE order_id = $1', [
      orderId,
    ]);
    expect(rows).toEqual([{ customer_id: 'cust-rebuild', status: 'PENDING' }]);
  });
});
