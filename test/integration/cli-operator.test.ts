import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { CONSUMERS } from '../../src/consumers';
import { listDeadLetters } from '../../src/delivery/dead-letters';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import { createLogger } from '../../src/logger';
import type { StackRecord } from '../../src/processes/dev-lock';
import { appendToStream } from '../../src/store/event-store';
import { withTransaction } from '../../src/store/pool';
import { freePort } from '../../src/util/free-port';
import { waitFor } from '../../src/util/wait';
import { startApiWorld, stopApiWorld, type ApiWorld } from '../helpers/api-world';
import { newStreamId, openDeadLetter, RECORDER_SQL, recorder } from '../helpers/delivery';
import { sagaCommand } from '../helpers/saga-cli';

// The operator commands (`saga dlq|order|return …`) as clients of a real API: found through
// SAGA_API_URL or the lock file of a running `npm start`; every failure is one plain message
// on stderr and exit code 1, never a stack trace.

const ROOT = path.resolve(__dirname, '../..');
const STACK_TRACE = /\n\s+at /;

/** Runs `saga` as a user would, with only the variables given (none of the caller's SAGA_*, DATABASE_URL, DATA_DIR). */
async function saga(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  for (const k of ['SAGA_API_URL', 'SAGA_API_KEY', 'DATABASE_URL', 'DATA_DIR']) delete env[k];
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  try {
    const { stdout, stderr } = await promisify(execFile)(...sagaCommand(...args), {
      cwd: options.cwd ?? ROOT,
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs `fn` over `items`, at most `limit` at a time (each CLI process loads the whole project). */
async function inBatches<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) results.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return results;
}

const folders: string[] = [];
function emptyFolder(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'saga-cli-'));
  folders.push(dir);
  return dir;
}

/** A folder with `.data/dev.lock` as a running `npm start` writes it (by default its pid is this test process). */
function folderWithLock(stack: StackRecord, pid = process.pid): string {
  const dir = emptyFolder();
  mkdirSync(path.join(dir, '.data'));
  const file = path.join(dir, '.data', 'dev.lock');
  writeFileSync(file, JSON.stringify({ pid, startedAt: new Date().toISOString(), children: [], stack }));
  chmodSync(file, 0o600);
  return dir;
}

const CUSTOMER = { name: 'alice', role: 'customer' as const, key: 'customer-key-0123456789' };
const OPERATOR = { name: 'ops', role: 'operator' as const, key: 'operator-key-0123456789' };

let world: ApiWorld;
/** The API with keys (customer and operator), beside the world's open one. */
let keyed: FastifyInstance;
let openUrl: string;
let keyedUrl: string;
let recorderDelivery: Delivery | undefined;
const failFor = new Set<string>();
const consumer = recorder({ name: 'cli-recorder', failFor, maxAttempts: 2 });

const urlOf = (app: FastifyInstance) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

beforeAll(async () => {
  // The open API replays the recorder's dead letters too.
  world = await startApiWorld({ consumers: [...CONSUMERS, consumer] });
  await world.app.listen({ port: 0, host: '127.0.0.1' });
  openUrl = urlOf(world.app);
  keyed = buildApp({
    pool: world.db.pool,
    temporal: world.temporal.client,
    taskQueue: world.temporal.taskQueue,
    // SKU-0001 costs 9.99: 10 of them wait for approval.
    orders: { approvalThresholdCents: 5_000, approvalTimeout: '1h' },
    apiKeys: [CUSTOMER, OPERATOR],
  });
  await keyed.listen({ port: 0, host: '127.0.0.1' });
  keyedUrl = urlOf(keyed);
  await world.db.pool.query(RECORDER_SQL);
  recorderDelivery = await startDelivery({
    pool: world.db.pool,
    connectionString: world.db.url,
    transport: { kind: 'postgres' },
    consumers: [consumer],
    topology: [consumer],
    relay: false,
    logger: createLogger('silent'),
    intervals: { pollMs: 250, rebalanceMs: 250 },
  });
});
afterAll(async () => {
  await keyed?.close();
  await recorderDelivery?.stop();
  await stopApiWorld(world);
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

const stackOf = (apiUrl: string): StackRecord => ({
  apiUrl,
  databaseUrl: world.db.url,
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'default',
  temporalUiUrl: null,
});

describe('finding the API and the database', () => {
  it('uses the running `npm start` from its lock file: no SAGA_API_URL, no DATABASE_URL', async () => {
    const id = await openDeadLetter(world.db.pool);
    const cwd = folderWithLock(stackOf(openUrl));
    const [list, migrate] = await Promise.all([
      saga(['dlq', 'list', '--consumer', 'notifier'], { cwd }),
      saga(['migrate'], { cwd }),
    ]);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(new RegExp(`^${id}\\topen\\tnotifier\\torder\\.confirmed`, 'm'));
    // Database commands take the stack's database, and say so.
    expect(migrate.code).toBe(0);
    expect(migrate.stderr).toContain(`Using the database of the running \`npm start\` (pid ${process.pid}).`);
    expect(migrate.stdout).toContain('Database is up to date.');
  });

  it('no API found: says how to get one, exit 1; no database: names DATABASE_URL and that npm start is not running', async () => {
    const empty = emptyFolder();
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = folderWithLock(stackOf(openUrl), gone);
    const closed = await freePort();
    const [none, staleLock] = await Promise.all([
      saga(['dlq', 'list'], { cwd: empty }),
      saga(['order', 'approve', randomUUID()], { cwd: stale }),
    ]);
    const [unreachable, noDatabase] = await Promise.all([
      saga(['dlq', 'list'], { env: { SAGA_API_URL: `http://127.0.0.1:${closed}` } }),
      saga(['seed'], { cwd: empty }),
    ]);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toBe(
      'saga: No API found: start the stack (npm start) or set SAGA_API_URL (and SAGA_API_KEY).\n' +
        '`npm start` is not running (no .data/dev.lock).\n',
    );
    expect(staleLock.code).toBe(1);
    expect(staleLock.stderr).toMatch(
      /No API found.*\n`npm start` is not running \(.*left from a process that is gone\)/,
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(
      `saga: The API at http://127.0.0.1:${closed} is not reachable (connection refused); the URL came from SAGA_API_URL.\n`,
    );
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr).toMatch(/DATABASE_URL: is required for this command: .*`npm start` is not running/);
    for (const r of [none, staleLock, unreachable, noDatabase]) expect(r.stderr).not.toMatch(STACK_TRACE);
  });
});

describe('bad input and refusals', () => {
  it('bad arguments: a message and exit 1, no stack trace, nothing sent', async () => {
    const env = { SAGA_API_URL: openUrl };
    const cases: [string[], RegExp][] = [
      [['dlq', 'show', 'abc'], /argument 'id'\. A dead letter id is a positive integer/],
      [['dlq', 'replay', '0'], /A dead letter id is a positive integer/],
      [['dlq', 'list', '--status', 'nope'], /Allowed choices are open, parked, replayed, discarded, unresolved, all/],
      [['dlq', 'list', '--limit', '10000'], /Give a whole number from 1 to 500/],
      [['dlq', 'replay'], /Say which dead letters to replay: an id, or filters .* or --all/],
      [['dlq', 'discard', '3', '--consumer', 'notifier'], /Give a dead letter id or filters/],
      [['dlq', 'replay', '--consumer', 'notifier', '--since', 'yesterday'], /ISO 8601 date/],
      [['order', 'retry-step', 'not-a-uuid', 'capturePayment', '--reason', 'x'], /The order id is a UUID/],
      [['order', 'retry-step', randomUUID(), 'capturePayment'], /required option '--reason <text>' not specified/],
      [['order', 'reject', randomUUID()], /required option '--reason <text>' not specified/],
      [['return', 'resolve-compensation', randomUUID()], /required option '--reason <text>' not specified/],
      [['dlq', 'list', '--api', 'localhost:3000'], /--api must be the API's http\(s\) URL/],
    ];
    const results = await inBatches(cases, 3, ([args]) => saga(args, { env }));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 1, stdout: '' });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK_TRACE);
    });
  });

  it("the API's refusals: detail and field errors on stderr, exit 1", async () => {
    const env = { SAGA_API_URL: openUrl };
    const orderId = randomUUID();
    const [invalid, missingOrder, missingReturn] = await Promise.all([
      saga(['dlq', 'replay', '--consumer', 'notifier', '--reason', 'nonsense', '--dry-run'], { env }),
      saga(['order', 'approve', orderId], { env }),
      saga(['return', 'retry-compensation', orderId, '--reason', 'fixed'], { env }),
    ]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^saga: Invalid request: .*\n {2}reason: /);
    expect(missingOrder).toMatchObject({ code: 1, stderr: `saga: No order ${orderId}\n` });
    expect(missingReturn).toMatchObject({ code: 1, stderr: `saga: No return ${orderId}\n` });
  });

  it('401 and 403 said plainly; an operator key passes', async () => {
    const env = (key?: string) => ({ SAGA_API_URL: keyedUrl, SAGA_API_KEY: key });
    const [noKey, unknownKey] = await Promise.all([
      saga(['dlq', 'list'], { env: env() }),
      saga(['dlq', 'list'], { env: env('not-a-key-at-all-000') }),
    ]);
    const [customer, operator] = await Promise.all([
      saga(['dlq', 'replay', '--all', '--dry-run'], { env: env(CUSTOMER.key) }),
      saga(['dlq', 'list', '--json'], { env: env(OPERATOR.key) }),
    ]);
    expect(noKey).toMatchObject({
      code: 1,
      stderr: `saga: The API at ${keyedUrl} needs an API key: set SAGA_API_KEY to an operator's key.\n`,
    });
    expect(unknownKey).toMatchObject({
      code: 1,
      stderr: `saga: The API at ${keyedUrl} does not know the key in SAGA_API_KEY.\n`,
    });
    expect(customer.code).toBe(1);
    expect(customer.stderr).toBe(
      "saga: This API key may not do this: operators only (alice (customer) may not do this: operators only). Set SAGA_API_KEY to an operator's key.\n",
    );
    expect(operator.code).toBe(0);
    expect(JSON.parse(operator.stdout)).toEqual({ deadLetters: expect.any(Array) });
  });
});

describe('operator actions through the API', () => {
  it('saga order approve and reject: the saga moves on; an action that does not apply is refused (409)', async () => {
    const as = (key: string) => ({ 'x-api-key': key });
    const big = {
      customerId: 'cust-cli',
      items: [{ sku: 'SKU-0001', quantity: 10 }],
      payment: { token: 'tok_visa' },
      shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
    };
    const place = async () =>
      (await keyed.inject({ method: 'POST', url: '/orders', headers: as(CUSTOMER.key), payload: big })).json<{
        orderId: string;
      }>().orderId;
    const awaitingApproval = (orderId: string) =>
      waitFor(
        async () =>
          (await keyed.inject({ url: `/orders/${orderId}/saga`, headers: as(CUSTOMER.key) })).json<{
            status: string;
          }>().status === 'AWAITING_APPROVAL' || undefined,
        { timeoutMs: 30_000, description: 'the order to wait for approval' },
      );
    const [approveId, rejectId] = await Promise.all([place(), place()]);
    await Promise.all([awaitingApproval(approveId), awaitingApproval(rejectId)]);

    const env = { SAGA_API_URL: keyedUrl, SAGA_API_KEY: OPERATOR.key };
    const [notStuck, approved, rejected] = await Promise.all([
      saga(['order', 'retry-step', approveId, 'capturePayment', '--reason', 'gateway fixed'], { env }),
      saga(['order', 'approve', approveId, '--reason', 'known customer'], { env }),
      saga(['order', 'reject', rejectId, '--reason', 'suspicious'], { env }),
    ]);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^Order ${approveId}: approved; saga phase now [A-Z_]+\\n`));
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toMatch(new RegExp(`^Order ${rejectId}: rejected; saga phase now [A-Z_]+\\n`));
    // The saga is not parked on a step: the API refuses and says why.
    expect(notStuck.code).toBe(1);
    expect(notStuck.stderr).toMatch(/^saga: The order's saga is not parked on a step past its deadline/);
  });

  it('bulk replay: a dry run counts and changes nothing, the real run replays and releases the parked events', async () => {
    // Three streams whose first event keeps failing: each is dead-lettered, its second event parked.
    const streams = [newStreamId(), newStreamId(), newStreamId()];
    for (const streamId of streams) {
      const eventId = randomUUID();
      failFor.add(eventId);
      await withTransaction(world.db.pool, (tx) =>
        appendToStream(tx, streamId, 0, [
          { eventId, eventType: 'order.approved', payload: { orderId: streamId.slice('order-'.length) } },
          { eventType: 'order.approved', payload: { orderId: streamId.slice('order-'.length) } },
        ]),
      );
    }
    const lettersOf = async (status: 'open' | 'parked') =>
      (await listDeadLetters(world.db.pool, { consumer: consumer.name, status, limit: 500 })).filter((d) =>
        streams.includes(d.streamId),
      );
    await waitFor(
      async () => ((await lettersOf('open')).length === 3 && (await lettersOf('parked')).length === 3) || undefined,
      {
        timeoutMs: 60_000,
        description: 'three dead letters, three parked events',
      },
    );
    failFor.clear(); // the cause is fixed

    const env = { SAGA_API_URL: openUrl };
    const dryRun = await saga(['dlq', 'replay', '--consumer', consumer.name, '--dry-run'], { env });
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toMatch(
      /^Dry run: 3 dead letters match \(3 parked events behind them\)\. Run again without --dry-run to replay them\.$/m,
    );
    expect(await lettersOf('open')).toHaveLength(3);

    const run = await saga(['dlq', 'replay', '--consumer', consumer.name, '--type', 'order.approved'], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Replayed 3: 3 applied, 0 duplicate, 0 failed, 0 skipped; 3 parked events released\n');
    expect(await lettersOf('open')).toEqual([]);
    expect(await lettersOf('parked')).toEqual([]);
    // Each stream's two events took effect once each, in order (the recorder also sees the real orders' events).
    const { rows } = await world.db.pool.query<{ stream_id: string; versions: number[] }>(
      `SELECT stream_id, array_agg(stream_version ORDER BY seq) AS versions FROM test_deliveries
        WHERE consumer = $1 AND stream_id = ANY($2) GROUP BY stream_id`,
      [consumer.name, streams],
    );
    expect(rows.map((r) => r.versions)).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);

    const again = await saga(['dlq', 'replay', '--consumer', consumer.name], { env });
    expect(again).toMatchObject({ code: 0, stdout: 'No open dead letters match: nothing to replay.\n' });
  });

  it('bulk discard with a note', async () => {
    const streamId = newStreamId();
    const eventId = randomUUID();
    failFor.add(eventId);
    await withTransaction(world.db.pool, (tx) =>
      appendToStream(tx, streamId, 0, [
        { eventId, eventType: 'order.approved', payload: { orderId: streamId.slice('order-'.length) } },
      ]),
    );
    const since = new Date(Date.now() - 60_000).toISOString();
    await waitFor(
      async () =>
        (await listDeadLetters(world.db.pool, { consumer: consumer.name, status: 'open' })).some(
          (d) => d.eventId === eventId,
        ) || undefined,
      { timeoutMs: 60_000, description: 'the dead letter' },
    );
    const discarded = await saga(
      ['dlq', 'discard', '--consumer', consumer.name, '--since', since, '--note', 'obsolete test event'],
      { env: { SAGA_API_URL: openUrl } },
    );
    expect(discarded).toMatchObject({
      code: 0,
      stdout: 'Discarded 1: 1 discarded, 0 failed, 0 skipped; 0 parked events released\n',
    });
    const [letter] = (await listDeadLetters(world.db.pool, { consumer: consumer.name, status: 'all' })).filter(
      (d) => d.eventId === eventId,
    );
    expect(letter).toMatchObject({ status: 'discarded' });
    failFor.delete(eventId);
  });
});
