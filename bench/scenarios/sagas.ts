import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { encryptionDataConverter, generatePayloadKey, parsePayloadKeys } from '../../src/temporal/payload-codec';
import { startDevServer, FAST_SQLITE_PRAGMAS } from '../../src/temporal/dev-server';
import { waitFor } from '../../src/util/wait';
import {
  perSecond,
  quantile,
  runConcurrently,
  timed,
  type BenchDatabase,
  type Figure,
  type Ratio,
  type Scenario,
  type ScenarioContext,
} from '../harness';
import { freePort } from '../../src/util/free-port';
import { spawnRole, tsxCommand, type RoleProcess } from '../processes';
import { medianSegments, timelines, widestGaps, type CallerTimes } from '../timeline';

type Medians = ReturnType<typeof medianSegments>;

const fmt = (ms: number) => ms.toFixed(0);

/**
 * Sagas end to end from HTTP: `POST /orders` until the outcome is visible in the read model,
 * with the worker, the API and the consumers as processes of their own (as in production),
 * a mix of happy orders and declined cards (which compensate). Baseline, in the same run on
 * the same server: a bare workflow with as many no-op activities as a happy saga runs, on a
 * worker process with the same settings. Both on the default file-backed dev server (what
 * `npm start` runs) and on an in-memory one (what persistence costs).
 */

export const IN_FLIGHT = 12;
/** Activities of a happy order saga (create, reserve, authorize, ship, capture, confirm). */
export const HAPPY_ACTIVITIES = 6;
export const DECLINED_EVERY = 5; // one order in five is declined and compensates

/** A Temporal server the stack runs on, stopped with the stack. */
export interface StackServer {
  address: string;
  stop(): Promise<void>;
}

export interface Stack {
  server: StackServer;
  db: BenchDatabase;
  roles: RoleProcess[];
  api: string;
  client: Client;
  connection: Connection;
  stop(): Promise<void>;
}

/** One key for the whole run: the roles, the baseline worker and the client. */
const benchPayloadKeys = generatePayloadKey('bench');

async function startDevStack(ctx: ScenarioContext, persistent: boolean, dir: string): Promise<Stack> {
  const cli = await ctx.temporalCli();
  const server = await startDevServer({
    cli: { source: 'env', path: cli },
    port: await freePort(),
    ...(persistent ? { dbFilename: path.join(dir, 'temporal.sqlite'), sqlitePragmas: { ...FAST_SQLITE_PRAGMAS } } : {}),
  });
  return startStack(ctx, server, persistent ? 'sagas_file' : 'sagas_memory');
}

/**
 * The roles (worker, API, consumers) and the baseline worker as processes of their own on
 * `server`, with a fresh database named after `dbName`. Owns `server`: stops it with the rest,
 * also when start-up fails.
 */
export async function startStack(ctx: ScenarioContext, server: StackServer, dbName: string): Promise<Stack> {
  let db: BenchDatabase | undefined;
  let roles: RoleProcess[] = [];
  try {
    db = await ctx.database(dbName);
    return await startRoles(ctx, server, db, (started) => (roles = started));
  } catch (err) {
    for (const role of roles) await role.stop();
    await server.stop();
    await db?.drop();
    throw err;
  }
}

async function startRoles(
  ctx: ScenarioContext,
  server: StackServer,
  db: BenchDatabase,
  onRoles: (roles: RoleProcess[]) => void,
): Promise<Stack> {
  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: server.address,
    TASK_QUEUE: 'bench-orders',
    // Payload encryption on, as users run it; the baseline worker and the client share the key.
    PAYLOAD_KEYS: benchPayloadKeys,
    PAYLOAD_KEY_ID: undefined,
    PAYLOAD_KEY_FILE: undefined,
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    TRANSPORT: 'postgres',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    API_KEYS: '',
    APPROVAL_THRESHOLD_CENTS: String(1e12),
  };
  const bundles = await ctx.workflowBundles();
  const roles = [
    spawnRole('worker', ctx.sagaCommand, ['worker'], { ...env, WORKFLOW_BUNDLE: bundles.saga }),
    spawnRole('api', ctx.sagaCommand, ['api'], env),
    spawnRole('consumers', ctx.sagaCommand, ['consume'], env),
    spawnRole('baseline worker', tsxCommand('bench/baseline/noop-worker.ts'), [], {
      ...env,
      TASK_QUEUE: 'bench-noop',
      NOOP_WORKFLOW_BUNDLE: bundles.baseline,
    }),
  ];
  onRoles(roles);
  const api = `http://127.0.0.1:${apiPort}`;
  await waitFor(async () => ((await fetch(`${api}/health`).catch(() => undefined))?.ok ? true : undefined), {
    timeoutMs: 60_000,
    intervalMs: 250,
    description: 'the API to answer /health',
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, dataConverter: encryptionDataConverter(parsePayloadKeys(benchPayloadKeys)) });
  return {
    server,
    db,
    roles,
    api,
    client,
    connection,
    async stop() {
      await connection.close();
      for (const role of roles) await role.stop();
      await server.stop();
      await db.drop();
    },
  };
}

/** Resolves each order once the read model shows it CONFIRMED or CANCELLED (one query for all). */
function readModelWatcher(db: BenchDatabase) {
  const waiting = new Map<string, () => void>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      if (waiting.size) {
        const { rows } = await db.pool.query<{ order_id: string }>(
          `SELECT order_id FROM order_summary WHERE order_id = ANY($1::uuid[]) AND status IN ('CONFIRMED', 'CANCELLED')`,
          [[...waiting.keys()]],
        );
        for (const { order_id } of rows) {
          waiting.get(order_id)?.();
          waiting.delete(order_id);
        }
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  return {
    settled: (orderId: string) => new Promise<void>((resolve) => waiting.set(orderId, resolve)),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** `mixed`: one order in DECLINED_EVERY declined; `happy`: none; `compensating`: every one. */
type Mix = 'mixed' | 'happy' | 'compensating';

const declined = (i: number, mix: Mix): boolean =>
  mix === 'compensating' || (mix === 'mixed' && i % DECLINED_EVERY === DECLINED_EVERY - 1);

async function placeOrder(api: string, i: number, mix: Mix): Promise<string> {
  const res = await fetch(`${api}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      customerId: `bench-${i % 50}`,
      items: [{ sku: `SKU-000${(i % 9) + 1}`, quantity: 1 }],
      payment: { token: declined(i, mix) ? 'tok_chargeDeclined' : 'tok_visa' },
      shippingAddress: { line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
    }),
  });
  if (res.status !== 202) throw new Error(`POST /orders answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { orderId: string }).orderId;
}

interface SagaRun {
  sagasPerSecond: number;
  latencies: number[];
  orderIds: string[];
  /** What the caller saw of each saga, for the breakdown (`timelines`). */
  callers: CallerTimes[];
  ms: number;
}

/**
 * `count` units of `work`: `IN_FLIGHT` at a time, or started at `offeredPerSecond` whatever
 * is in flight (an open workload, as users' requests come). Returns per-unit latencies in ms.
 */
async function drive(
  count: number,
  work: (i: number) => Promise<void>,
  onDone: () => void,
  offeredPerSecond: number | undefined,
): Promise<{ latencies: number[]; ms: number }> {
  if (offeredPerSecond === undefined) {
    const { result: latencies, ms } = await timed(() => runConcurrently(count, IN_FLIGHT, work, onDone));
    return { latencies, ms };
  }
  const latencies: number[] = [];
  const { ms } = await timed(() =>
    Promise.all(
      Array.from({ length: count }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (i * 1000) / offeredPerSecond));
        const started = performance.now();
        await work(i);
        latencies.push(performance.now() - started);
        onDone();
      }),
    ),
  );
  return { latencies, ms };
}

/** `count` sagas with `IN_FLIGHT` in flight, or paced at `offeredPerSecond`. */
export async function runSagas(
  stack: Stack,
  count: number,
  first: number,
  onDone: () => void,
  options: { offeredPerSecond?: number; mix?: Mix } = {},
): Promise<SagaRun> {
  const { offeredPerSecond, mix = 'mixed' } = options;
  const watcher = readModelWatcher(stack.db);
  const orderIds: string[] = [];
  const callers: CallerTimes[] = [];
  const one = async (i: number) => {
    const requested = Date.now();
    const orderId = await placeOrder(stack.api, first + i, mix);
    orderIds.push(orderId);
    await watcher.settled(orderId);
    callers.push({ workflowId: `order-${orderId}`, requested, settled: Date.now() });
  };
  try {
    const { latencies, ms } = await drive(count, one, onDone, offeredPerSecond);
    // When the consumers wrote each outcome into the read model (the hop after the last activity).
    const { rows } = await stack.db.pool.query<{ order_id: string; updated_at: Date }>(
      `SELECT order_id, updated_at FROM order_summary WHERE order_id = ANY($1::uuid[])`,
      [orderIds],
    );
    const written = new Map(rows.map((r) => [`order-${r.order_id}`, r.updated_at.getTime()]));
    for (const c of callers) c.readModelAt = written.get(c.workflowId);
    return { sagasPerSecond: perSecond(count, ms), latencies, orderIds, callers, ms };
  } finally {
    await watcher.stop();
  }
}

/** `count` bare workflows (start until result) with `IN_FLIGHT` in flight, or paced at `offeredPerSecond`. */
export async function runBaseline(
  stack: Stack,
  count: number,
  onDone: () => void,
  offeredPerSecond?: number,
): Promise<{ perSecond: number; latencies: number[]; callers: CallerTimes[] }> {
  const callers: CallerTimes[] = [];
  const run = Date.now();
  const { latencies, ms } = await drive(
    count,
    async (i) => {
      const workflowId = `noop-${run}-${i}`;
      const requested = Date.now();
      await stack.client.workflow.execute('noopWorkflow', {
        taskQueue: 'bench-noop',
        workflowId,
        args: [HAPPY_ACTIVITIES],
      });
      callers.push({ workflowId, requested, settled: Date.now() });
    },
    onDone,
    offeredPerSecond,
  );
  return { perSecond: perSecond(count, ms), latencies, callers };
}

/** Mean state transitions of a sample of finished workflows (how much work the server did per saga). */
async function stateTransitions(client: Client, workflowIds: string[]): Promise<number> {
  const sample = workflowIds.slice(0, 10);
  let total = 0;
  for (const id of sample) {
    const d = await client.workflow.getHandle(id).describe();
    total += Number(d.raw.workflowExecutionInfo?.stateTransitionCount ?? 0);
  }
  return total / Math.max(1, sample.length);
}

export const sagasScenario: Scenario = {
  name: 'sagas',
  title: 'Sagas end to end from HTTP vs a bare workflow with as many no-op activities',
  async run(ctx) {
    const count = Math.max(6, Math.round(120 * ctx.scale));
    const figures: Figure[] = [];
    const figure = (name: string, value: number, unit: string) =>
      figures.push({ scenario: 'sagas', name, value, unit });
    const rates: Record<'file' | 'memory', { sagas: number; bare: number }> = {
      file: { sagas: 0, bare: 0 },
      memory: { sagas: 0, bare: 0 },
    };
    const p50s: Record<'one' | 'half', { sagas: number; bare: number; offered: number }> = {
      one: { sagas: Number.NaN, bare: Number.NaN, offered: 1 },
      half: { sagas: Number.NaN, bare: Number.NaN, offered: 1 },
    };
    /** "Where a saga's time goes": p50 per segment (ms) of a run's sagas and bare workflows. */
    const gaps: Record<string, string> = {};
    const breakdown = async (client: Client, when: string, sagaCallers: CallerTimes[], bareCallers: CallerTimes[]) => {
      const [saga, bare] = (await Promise.all([timelines(client, sagaCallers), timelines(client, bareCallers)])).map(
        medianSegments,
      ) as [Medians, Medians];
      for (const [who, medians] of [
        ['saga', saga],
        ['bare workflow', bare],
      ] as const) {
        for (const s of medians) figure(`${when}, ${who}: ${s.label} (p50)`, s.p50, 'ms');
      }
      gaps[when] = widestGaps(saga, bare);
    };
    const notes: string[] = [
      `${count} orders per run, ${IN_FLIGHT} in flight, one in ${DECLINED_EVERY} declined (compensates); latency = POST /orders until the read model shows the outcome.`,
      'Worker, API and consumers (Postgres-native delivery) are processes of their own; the baseline worker too, with the same Worker settings.',
      'Paced runs offer sagas and bare workflows at 1/s (no overlap) and at half of the sagas\' saturation; "where the time goes" is the p50 per segment over those runs, from the workflows\' histories (bench/timeline.ts).',
    ];

    for (const variant of ['file', 'memory'] as const) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'saga-bench-'));
      const stack = await startDevStack(ctx, variant === 'file', dir);
      try {
        // Warm-up: workflow bundles loaded, connections open, caches filled.
        const warm = ctx.progress(`sagas (${variant} server): warm-up`, 4);
        await runSagas(stack, 4, 0, () => warm.increment());
        await runBaseline(stack, 4, () => warm.increment(0));
        warm.done();

        const bar = ctx.progress(`sagas (${variant} server): ${count} sagas + ${count} bare workflows`, 2 * count);
        const bare = await runBaseline(stack, count, () => bar.increment());
        const sagas = await runSagas(stack, count, 100, () => bar.increment());
        bar.done();
        rates[variant] = { sagas: sagas.sagasPerSecond, bare: bare.perSecond };
        figure(`${variant} server: sagas/s (saturation)`, sagas.sagasPerSecond, '/s');
        figure(`${variant} server: bare workflows/s`, bare.perSecond, '/s');
        figure(`${variant} server: saga p50`, quantile(sagas.latencies, 0.5), 'ms');
        figure(`${variant} server: saga p99`, quantile(sagas.latencies, 0.99), 'ms');
        figure(`${variant} server: bare workflow p50`, quantile(bare.latencies, 0.5), 'ms');

        if (variant === 'file') {
          const { rows } = await stack.db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM events WHERE stream_id = ANY($1::text[])`,
            [sagas.orderIds.map((id) => `order-${id}`)],
          );
          const eventsPerSecond = perSecond(rows[0]!.n, sagas.ms);
          ctx.shared.set('sagaEventsPerSecond', eventsPerSecond);
          figure('file server: events appended/s by the sagas', eventsPerSecond, '/s');
          figure(
            'state transitions per saga',
            await stateTransitions(
              stack.client,
              sagas.orderIds.map((id) => `order-${id}`),
            ),
            '',
          );
          await breakdown(stack.client, 'at saturation', sagas.callers, bare.callers);

          // Fixed offered rates below saturation, sagas and bare workflows alike: the latency
          // users see when sagas do not overlap (1/s) and when they do (half of saturation).
          const paced = Math.max(4, Math.round(count / 2));
          // One decimal: on a loaded machine (saturation near 2/s) flooring would make it 1/s again.
          const half = Math.max(1, Math.round((sagas.sagasPerSecond / 2) * 10) / 10);
          for (const [i, offered] of [1, half].entries()) {
            const pacedBar = ctx.progress(
              `sagas (file server): ${paced} + ${paced} bare at ${offered}/s offered`,
              2 * paced,
            );
            const pacedBare = await runBaseline(stack, paced, () => pacedBar.increment(), offered);
            const atRate = await runSagas(stack, paced, 1000 + i * 1000, () => pacedBar.increment(), {
              offeredPerSecond: offered,
            });
            pacedBar.done();
            const which = i === 0 ? 'one' : 'half';
            p50s[which] = { sagas: quantile(atRate.latencies, 0.5), bare: quantile(pacedBare.latencies, 0.5), offered };
            figure(`saga p50 at ${offered}/s offered`, p50s[which].sagas, 'ms');
            figure(`saga p99 at ${offered}/s offered`, quantile(atRate.latencies, 0.99), 'ms');
            figure(`bare workflow p50 at ${offered}/s offered`, p50s[which].bare, 'ms');
            figure(`bare workflow p99 at ${offered}/s offered`, quantile(pacedBare.latencies, 0.99), 'ms');
            await breakdown(stack.client, `at ${offered}/s offered`, atRate.callers, pacedBare.callers);
          }
          // Each path on its own at saturation: all happy, all compensating.
          for (const mix of ['happy', 'compensating'] as const) {
            const mixBar = ctx.progress(`sagas (file server): ${paced} ${mix}`, paced);
            const run = await runSagas(stack, paced, mix === 'happy' ? 3000 : 4000, () => mixBar.increment(), { mix });
            mixBar.done();
            figure(`${mix} only: sagas/s (saturation)`, run.sagasPerSecond, '/s');
            figure(`${mix} only: saga p50`, quantile(run.latencies, 0.5), 'ms');
            figure(`${mix} only: saga p99`, quantile(run.latencies, 0.99), 'ms');
          }
          for (const role of stack.roles) figure(`peak RSS: ${role.name}`, role.peakRssMiB(), 'MiB');
        }
      } finally {
        await stack.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }

    const ratios: Ratio[] = [
      {
        name: 'saga-vs-bare-workflow',
        value: rates.file.sagas / rates.file.bare,
        target: 0.9,
        baseline: `bare workflow with ${HAPPY_ACTIVITIES} no-op activities, same server and worker settings`,
        unit: 'x',
        whenMissed:
          `at saturation both share 2 cores with the API, the consumers, PostgreSQL and the server, so the saga's extra work per step costs throughput; measured p50 per saga: ${gaps['at saturation'] ?? 'n/a'}. ` +
          'Closing it needs less work per step: fewer round trips per activity, smaller workflow tasks (fewer details and search-attribute updates per step), or a core more.',
      },
      {
        name: 'default-vs-memory-server',
        value: rates.file.sagas / rates.memory.sagas,
        target: 0.9,
        baseline: 'the same saga mix on an in-memory dev server',
        unit: 'x',
      },
      {
        name: 'saga-p50-half-saturation-vs-1-per-second',
        value: p50s.half.sagas / p50s.one.sagas,
        target: 1.5,
        comparison: '<=',
        baseline: `saga p50 at 1/s offered (${fmt(p50s.one.sagas)} ms) vs at ${p50s.half.offered}/s, half of saturation (${fmt(p50s.half.sagas)} ms)`,
        unit: 'x',
        whenMissed: `where a saga's time grows at ${p50s.half.offered}/s beyond the bare workflow's: ${gaps[`at ${p50s.half.offered}/s offered`] ?? 'n/a'}; a segment that waits (scheduled → started) points at the server's queues (DEV_SERVER_DYNAMIC_CONFIG), one that runs at the CPU the worker, PostgreSQL and the server share (the worker itself was found idle 81–88 % of a run, docs/performance.md). What would close it: less server and database work per saga step (fewer transactions per activity, lighter workflow task completions), or the server and PostgreSQL on cores of their own, as in production.`,
      },
      {
        name: 'saga-vs-bare-workflow-p50-at-1-per-second',
        value: p50s.one.sagas / p50s.one.bare,
        target: 1.3,
        comparison: '<=',
        baseline: `bare workflow p50 at 1/s offered (${fmt(p50s.one.bare)} ms), start until result; the saga's (${fmt(p50s.one.sagas)} ms) is POST /orders until the read model shows the outcome`,
        unit: 'x',
        whenMissed:
          `the saga does work the bare workflow does not, measured p50 per saga at 1/s: ${gaps['at 1/s offered'] ?? 'n/a'}. ` +
          'Activities running longer are our transactions (claim with the stream read, domain rows, append with the result); workflow tasks running longer are the saga code, its details and search attributes and larger encrypted payloads. Closing it needs fewer round trips per activity and lighter workflow tasks.',
      },
    ];
    return { ratios, figures, notes };
  },
};
