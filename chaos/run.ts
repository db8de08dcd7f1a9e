import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type Cluster, type Restartable } from '../src/cluster/cluster';
import type { Role } from '../src/cluster/topology';
import type { Logger } from '../src/logger';
import { createPool, type Pool } from '../src/store/pool';
import { freePort, freePortBlock } from '../src/util/free-port';
import { waitFor } from '../src/util/wait';
import { ownNatsServer, sharedRabbitMq, type ChaosBroker } from './broker';
import * as invariants from './invariants';
import {
  CHAOS_APPROVAL_THRESHOLD_CENTS,
  decisionBody,
  EXPECTED,
  orderBody,
  orderMix,
  seededRandom,
  shuffled,
  type OrderKind,
} from './orders';

export type FaultKind = Role | 'temporal' | 'postgres' | 'broker';
export const FAULT_KINDS: readonly FaultKind[] = [
  'worker',
  'api',
  'relay',
  'consume',
  'temporal',
  'postgres',
  'broker',
];

export interface ChaosOptions {
  /** Orders placed through the API while faults are injected. Default 300. */
  orders?: number;
  /** Faults injected, one after another, kinds in turn from a seeded shuffle. Default 28 (4 of each kind). */
  faults?: number;
  /** `nats` (a nats-server of the suite's own, SIGKILLed) or `rabbitmq` (AMQP_URL, rabbitmqctl stop_app). Default nats. */
  transport?: 'nats' | 'rabbitmq';
  /** Orders in flight at once. Default 12. */
  concurrency?: number;
  /** Pause between order starts. Default: the orders spread over the faults, about 5 s each. */
  spacingMs?: number;
  /** Seed of the order mix and fault choices (printed, to repeat a run). Default random. */
  seed?: number;
  /** How long a faulted infrastructure part (Temporal, PostgreSQL, broker) stays down. Default 2 s. */
  downtimeMs?: number;
  /** Deadline for everything to settle after the last fault. Default 5 min. */
  settleTimeoutMs?: number;
  /** Keeps the data folder (logs of every process) instead of removing it. Default false. */
  keepData?: boolean;
  logger: Logger;
  /** One line per step of the run. Default: stderr. */
  onProgress?: (line: string) => void;
}

export interface FaultRecord {
  kind: FaultKind;
  target: string;
  atMs: number;
  /** Until every process answered ready again. */
  recoveredInMs: number;
  /** Whether orders were still being placed (later faults hit sagas that are still settling). */
  duringLoad: boolean;
}

export interface ChaosReport {
  seed: number;
  transport: string;
  orders: { total: number; byKind: Record<string, number> };
  faults: FaultRecord[];
  durationMs: number;
  /** From the first order to the last saga settled in the read model. */
  settleMs: number;
  requestRetries: number;
  processRestarts: Record<string, number>;
  invariants: invariants.InvariantResult[];
  ok: boolean;
  dataDir: string | undefined;
}

/** Calls the API through the front door, retrying what a fault broke (same Idempotency-Key). */
class Client {
  retries = 0;
  constructor(
    private readonly baseUrl: string,
    private readonly deadlineMs: number,
  ) {}

  async send(method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}) {
    const deadline = Date.now() + this.deadlineMs;
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${this.baseUrl}${url}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      }).catch((err: Error) => err);
      // A reset connection, a replica gone, or PostgreSQL / Temporal down behind the API.
      const transient = res instanceof Error || res.status >= 500 || res.status === 429;
      if (!transient) return res;
      if (Date.now() > deadline) {
        throw new Error(
          `${method} ${url} kept failing: ${res instanceof Error ? res.message : `${res.status} ${await res.text()}`}`,
        );
      }
      this.retries++;
      await sleep(Math.min(2000, 100 * 2 ** attempt));
    }
  }
}

/** Places one order and, for the kinds that wait for a decision, decides once the saga waits. */
async function placeOrder(client: Client, kind: OrderKind, customerId: string): Promise<string> {
  const res = await client.send('POST', '/orders', orderBody(kind, customerId), { 'idempotency-key': randomUUID() });
  if (res.status !== 202) throw new Error(`POST /orders (${kind}) answered ${res.status}: ${await res.text()}`);
  const { orderId } = (await res.json()) as { orderId: string };
  const decision = EXPECTED[kind].decision;
  if (decision) {
    await waitFor(
      async () => {
        const saga = await client.send('GET', `/orders/${orderId}/saga`);
        return saga.status === 200 && ((await saga.json()) as { status?: string }).status === 'AWAITING_APPROVAL'
          ? true
          : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 250, description: `${kind} order ${orderId} to wait for approval` },
    );
    const decided = await client.send('POST', `/orders/${orderId}/${decision}`, decisionBody(decision));
    // 409: a retried request whose first attempt already decided (the outcome check tells).
    if (decided.status >= 400 && decided.status !== 409) {
      throw new Error(`POST /orders/${orderId}/${decision} answered ${decided.status}: ${await decided.text()}`);
    }
  }
  return orderId;
}

/** Runs `tasks` with at most `limit` at once. */
/** Runs `task` for each item, at most `limit` at once, item i starting no earlier than i × `spacingMs`. */
async function paced<T>(
  items: T[],
  options: { limit: number; spacingMs: number },
  task: (item: T) => Promise<void>,
): Promise<void> {
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(options.limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        const wait = started + i * options.spacingMs - Date.now();
        if (wait > 0) await sleep(wait);
        await task(items[i]!);
      }
    }),
  );
}

async function allReady(cluster: Cluster): Promise<void> {
  await waitFor(
    async () => (await Promise.all(cluster.processes.map((p) => p.isReady()))).every(Boolean) || undefined,
    {
      timeoutMs: 180_000,
      intervalMs: 250,
      description: 'every process to be ready again',
    },
  );
}

/**
 * The chaos suite: the production-like topology (`startCluster`) with its own PostgreSQL and
 * broker, orders of every kind placed through the API while processes and infrastructure are
 * killed and restarted, then the invariants checked against the databases.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seededRandom(seed);
  const orderCount = options.orders ?? 300;
  const faultCount = options.faults ?? 28;
  const transport = options.transport ?? 'nats';
  const downtimeMs = options.downtimeMs ?? 2000;
  const progress = options.onProgress ?? ((line: string) => process.stderr.write(`[chaos] ${line}\n`));

  // The embedded PostgreSQL runs as `postgres` when started by root: its folder must be reachable.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'saga-chaos-'));
  await chmod(dataDir, 0o755);
  let passed = false;
  const closers: (() => Promise<void>)[] = [];
  let pool: Pool | undefined;
  try {
    const broker: ChaosBroker =
      transport === 'nats'
        ? await ownNatsServer(dataDir)
        : await sharedRabbitMq(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
    closers.push(() => broker.close());

    // Ports: a free front door with its block above, a Temporal block, PostgreSQL.
    const apiPort = await freePortBlock(10);
    const temporalPort = await freePortBlock(9);
    progress(`seed ${seed}; starting the topology (${transport}) in ${dataDir}`);
    const cluster = await startCluster({
      env: {
        ...process.env,
        ...broker.env,
        LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn',
        APPROVAL_THRESHOLD_CENTS: String(CHAOS_APPROVAL_THRESHOLD_CENTS),
        APPROVAL_TIMEOUT: '1 hour',
        RATE_LIMIT_PER_MINUTE: '0',
        API_KEYS: '',
        HOST: '127.0.0.1',
        DATABASE_URL: '',
        DATA_DIR: dataDir,
      },
      dataDir,
      apiPort,
      temporalPort,
      postgresPort: await freePort(),
      uiPort: 0, // nothing to look at during the run; its CPU goes to the roles
      logger: options.logger,
    });
    closers.push(() => cluster.stop());
    if (!cluster.postgres) throw new Error('the chaos suite needs the embedded PostgreSQL (it kills it)');
    pool = createPool(cluster.postgres.url);
    const stockBefore = await invariants.stockLevels(pool);
    progress(
      `topology ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cluster.processes.length} processes`,
    );

    const client = new Client(cluster.urls.api, 240_000);
    const kinds = orderMix(orderCount, random);
    const placed: invariants.PlacedOrder[] = [];
    const customerId = `chaos-${seed}`;
    let placing = true;
    const loadStarted = Date.now();
    // Spread over the fault schedule (about 5 s a fault), so faults land while sagas are in flight.
    const spacingMs = options.spacingMs ?? (faultCount * 5000) / Math.max(1, orderCount);
    const load = paced(kinds, { limit: options.concurrency ?? 12, spacingMs }, async (kind) => {
      placed.push({ kind, orderId: await placeOrder(client, kind, customerId) });
    }).finally(() => (placing = false));

    // Faults, one at a time: kinds in turn (shuffled), a random target, then wait for recovery.
    const faults: FaultRecord[] = [];
    // Rounds of every kind in a shuffled order, so a short run still hits each kind once.
    const kindsInTurn = Array.from({ length: Math.ceil(faultCount / FAULT_KINDS.length) }, () =>
      shuffled(FAULT_KINDS, random),
    )
      .flat()
      .slice(0, faultCount);
    const parts: Record<'temporal' | 'postgres' | 'broker', Restartable> = {
      temporal: cluster.temporal,
      postgres: cluster.postgres,
      broker,
    };
    for (const kind of kindsInTurn) {
      await sleep(500 + random() * 1500);
      const at = Date.now();
      const duringLoad = placing;
      let target: string;
      if (kind === 'temporal' || kind === 'postgres' || kind === 'broker') {
        target = kind;
        await parts[kind].kill();
        await sleep(downtimeMs * (0.5 + random()));
        await parts[kind].start();
      } else {
        const candidates = cluster.processes.filter((p) => p.spec.role === kind);
        const victim = candidates[Math.floor(random() * candidates.length)];
        if (!victim) continue; // e.g. no relay with TRANSPORT=postgres
        target = victim.name;
        await victim.kill('SIGKILL');
      }
      await allReady(cluster);
      faults.push({ kind, target, atMs: at - loadStarted, recoveredInMs: Date.now() - at, duringLoad });
      progress(`fault ${faults.length}: killed ${target}; all ready again after ${Date.now() - at} ms`);
    }
    await load;
    progress(`${placed.length} orders placed (${client.retries} requests retried); waiting for them to settle`);

    // Settle: every saga terminal in the read model, then every consumer caught up.
    const settleTimeoutMs = options.settleTimeoutMs ?? 300_000;
    await waitFor(async () => ((await invariants.outcomes(pool!, placed)).ok ? true : undefined), {
      timeoutMs: settleTimeoutMs,
      intervalMs: 1000,
      description: 'every saga to reach its expected outcome in the read model',
    }).catch(() => undefined); // the outcome invariant below reports what is missing
    const settleMs = Date.now() - loadStarted;
    await waitFor(
      async () => (Object.values(await invariants.undelivered(pool!)).every((n) => n === 0) ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 500, description: 'every consumer to catch up' },
    ).catch(() => undefined);

    const results = [
      await invariants.outcomes(pool, placed),
      ...(await invariants.eventsPerOrder(pool, placed)),
      ...(await invariants.effects(pool, placed, stockBefore)),
      ...(await invariants.delivery(pool)),
      await invariants.deadLetters(pool),
      await invariants.readModel(pool),
    ];
    const report: ChaosReport = {
      seed,
      transport,
      orders: {
        total: placed.length,
        byKind: Object.fromEntries(
          [...new Set(placed.map((p) => p.kind))].map((k) => [k, placed.filter((p) => p.kind === k).length]),
        ),
      },
      faults,
      durationMs: Date.now() - started,
      settleMs,
      requestRetries: client.retries,
      processRestarts: Object.fromEntries(cluster.processes.map((p) => [p.name, p.starts - 1])),
      invariants: results,
      ok: results.every((r) => r.ok),
      dataDir: options.keepData || !results.every((r) => r.ok) ? dataDir : undefined,
    };
    passed = report.ok;
    return report;
  } finally {
    await pool?.end();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    // Kept when asked or when the run failed: every process's log is there (the report names it).
    if (passed && !options.keepData) await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** The report as text: what was done, and each invariant's verdict. */
export function formatReport(report: ChaosReport): string {
  const byKind = new Map<string, number[]>();
  for (const f of report.faults) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f.recoveredInMs]);
  const lines = [
    `Chaos run (seed ${report.seed}, transport ${report.transport}): ${report.ok ? 'PASSED' : 'FAILED'}`,
    `  duration      ${(report.durationMs / 1000).toFixed(1)} s (orders settled ${(report.settleMs / 1000).toFixed(1)} s after the first)`,
    `  orders        ${report.orders.total}: ${Object.entries(report.orders.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `  faults        ${report.faults.length} (${report.faults.filter((f) => f.duringLoad).length} while orders were being placed): ${[
      ...byKind,
    ]
      .map(([k, ms]) => `${k} ×${ms.length} (recovered in ≤ ${(Math.max(...ms) / 1000).toFixed(1)} s)`)
      .join(', ')}`,
    `  retries       ${report.requestRetries} HTTP requests retried by the client`,
    `  restarts      ${Object.entries(report.processRestarts)
      .map(([n, r]) => `${n} ${r}`)
      .join(', ')}`,
    '  invariants',
    ...report.invariants.map((i) => `    ${i.ok ? 'ok  ' : 'FAIL'} ${i.name}: ${i.detail}`),
    ...(report.dataDir ? [`  logs          ${report.dataDir}`] : []),
  ];
  return lines.join('\n');
}

export async function writeReport(report: ChaosReport, file: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
