import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type Cluster, type Pausable, type Restartable } from '../src/cluster/cluster';
import type { ManagedProcess } from '../src/cluster/managed-process';
import type { Logger } from '../src/logger';
import { createPool, type Pool } from '../src/store/pool';
import { freePort, freePortBlock } from '../src/util/free-port';
import { waitFor } from '../src/util/wait';
import { ownNatsServer, sharedRabbitMq, type ChaosBroker } from './broker';
import { FAULT_KINDS, faultSlots, isHang, partOf, type FaultKind, type Infrastructure } from './faults';
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

export { FAULT_KINDS, faultSlots, type FaultKind, type HangKind } from './faults';

export interface ChaosOptions {
  /** Orders placed through the API while faults are injected. Default 300. */
  orders?: number;
  /**
   * Faults injected, kinds in turn from a seeded shuffle, every third slot two at once.
   * Default 36 (3 of each kind).
   */
  faults?: number;
  /**
   * `nats` (a nats-server of the suite's own, SIGKILLed and SIGSTOPped) or `rabbitmq` (AMQP_URL:
   * rabbitmqctl stop_app, SIGSTOP of its beam.smp). Default nats.
   */
  transport?: 'nats' | 'rabbitmq';
  /** Orders in flight at once. Default 12. */
  concurrency?: number;
  /** Pause between order starts. Default: the orders spread over the faults, about 5 s each. */
  spacingMs?: number;
  /** Seed of the order mix and fault choices (printed, to repeat a run). Default random. */
  seed?: number;
  /** How long a killed infrastructure part (Temporal, PostgreSQL, broker) stays down. Default 2 s. */
  downtimeMs?: number;
  /**
   * How long a hung part stays frozen (SIGSTOP to SIGCONT). Default 35 s: longer than every
   * client timeout in the code, so each gives up on the hung part and the part comes back to
   * clients that moved on. The longest is the relay's wait for RabbitMQ's publisher confirms
   * (30 s; the API's own request timeout is 30 s too); then the chaos client's 15 s per HTTP
   * request, NATS's 10 s per PubAck, an activity's 10 s start-to-close, the 5 s connect
   * timeouts of NATS and AMQP. PostgreSQL clients have none (pg's pool waits as long as it
   * takes), nor has the relays' advisory lock. Shorter than AMQP's 60 s heartbeat and NATS's
   * 2 min ping, so a hang is not noticed as a dead connection.
   */
  hangMs?: number;
  /** Deadline for everything to settle after the last fault. Default 5 min. */
  settleTimeoutMs?: number;
  /** Keeps the data folder (logs of every process) instead of removing it. Default false. */
  keepData?: boolean;
  /**
   * Runs the roles from the build in dist/ (`npm run build`) instead of the sources through tsx:
   * each (re)start costs about half the CPU. Default false (the sources as they are now).
   */
  built?: boolean;
  logger: Logger;
  /** One line per step of the run. Default: stderr. */
  onProgress?: (line: string) => void;
}

export interface FaultRecord {
  kind: FaultKind;
  target: string;
  atMs: number;
  /** How long the part was down or frozen on purpose (0 for a killed role: its supervisor restarts it). */
  downMs: number;
  /** From the fault until every process answered ready again (the part answering included). */
  recoveredInMs: number;
  /**
   * From the moment everything its slot took down was given back (restart begun, SIGCONT; a
   * killed role: the kill, its supervisor restarts it) until every process answered ready again.
   */
  readyAfterBackMs: number;
  /** Whether orders were still being placed (later faults hit sagas that are still settling). */
  duringLoad: boolean;
  /** The other fault of its slot, when two landed at once (`kind target`). */
  overlapsWith?: string;
  /**
   * After a PostgreSQL fault: the relays as PostgreSQL saw them once everything was ready (how
   * long until exactly one was active), and how many copies beyond one the broker held by then.
   */
  relays?: invariants.RelaySample & { waitedMs: number; republished: number };
}

export interface ChaosReport {
  seed: number;
  transport: string;
  /** How long each hung part stayed frozen. */
  hangMs: number;
  orders: { total: number; byKind: Record<string, number> };
  faults: FaultRecord[];
  durationMs: number;
  /** From the first order to the last saga settled in the read model. */
  settleMs: number;
  requestRetries: number;
  processRestarts: Record<string, number>;
  /** Restarts no kill of the suite's explains: the process exited on its own (after a hang, say). */
  exitsOnItsOwn: Record<string, number>;
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
 * The relay holding the leader lock: PostgreSQL names its lock connection's client port, and
 * the relay process owning a socket on that port is the one (Linux: /proc). Undefined when it
 * cannot be told.
 */
async function activeRelay(pool: Pool, relays: ManagedProcess[]): Promise<ManagedProcess | undefined> {
  // PostgreSQL itself may be down (a fault of the same slot): then it cannot be told.
  const rows = await pool
    .query<{ client_port: number }>(
      `SELECT client_port FROM pg_stat_activity WHERE application_name = 'saga-relay' AND datname = current_database()`,
    )
    .then(
      (r) => r.rows,
      () => [],
    );
  const port = rows[0]?.client_port;
  if (!port || rows.length !== 1) return undefined;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[];
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && Number.parseInt(fields[1]!.split(':').at(-1)!, 16) === port) inodes.add(fields[9]!);
    }
  }
  return relays.find((relay) => {
    try {
      return readdirSync(`/proc/${relay.pid}/fd`).some((fd) => {
        const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${relay.pid}/fd/${fd}`, 'utf8'));
        return socket !== null && inodes.has(socket[1]!);
      });
    } catch {
      return false;
    }
  });
}

/**
 * Once everything is ready after a PostgreSQL fault: the relays until exactly one holds the
 * lock (a standby retries every second, the active one backs off while PostgreSQL is away), or
 * at once when two do; and the copies the broker holds beyond one by now.
 */
async function relaysOnceSettled(pool: Pool, broker: ChaosBroker): Promise<NonNullable<FaultRecord['relays']>> {
  const started = Date.now();
  let sample: invariants.RelaySample = { active: 0, standby: 0 };
  await waitFor(
    async () => {
      // The harness's own pool may hold connections the restart broke: try again.
      sample = (await invariants.relayLeadership(pool).catch(() => undefined)) ?? sample;
      return sample.active >= 1 || undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, description: 'a relay to hold the leader lock' },
  ).catch(() => undefined); // the relays invariant reports it
  const waitedMs = Date.now() - started;
  const log = await broker.published();
  const republished = [...log.copies.values()].reduce((n, copies) => n + copies - 1, 0);
  return { ...sample, waitedMs, republished };
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
  const faultCount = options.faults ?? 36;
  const transport = options.transport ?? 'nats';
  const downtimeMs = options.downtimeMs ?? 2000;
  const hangMs = options.hangMs ?? 35_000;
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
      ...(options.built ? { sagaCommand: [process.execPath, path.resolve(__dirname, '../dist/cli.js')] } : {}),
      logger: options.logger,
    });
    closers.push(() => cluster.stop());
    if (!cluster.postgres) throw new Error('the chaos suite needs the embedded PostgreSQL (it kills it)');
    pool = createPool(cluster.postgres.url);
    const stockBefore = await invariants.stockLevels(pool);
    progress(
      `topology ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cluster.processes.length} processes`,
    );

    // From here on the broker keeps a copy of what is published (RabbitMQ: an audit queue).
    await broker.record();

    const client = new Client(cluster.urls.api, 240_000);
    const kinds = orderMix(orderCount, random);
    const placed: invariants.PlacedOrder[] = [];
    const customerId = `chaos-${seed}`;
    let placing = true;

    // Rounds of every kind in a shuffled order, so a short run still hits each kind once;
    // every third slot two of them at once.
    const kindsInTurn = Array.from({ length: Math.ceil(faultCount / FAULT_KINDS.length) }, () =>
      shuffled(FAULT_KINDS, random),
    )
      .flat()
      .slice(0, faultCount);
    const slots = faultSlots(kindsInTurn);
    const loadStarted = Date.now();
    // Spread over the fault schedule (about 5 s a slot, plus its hang), so faults land while
    // sagas are in flight.
    const scheduleMs = slots.reduce((ms, slot) => ms + 5000 + (slot.some(isHang) ? hangMs : 0), 0);
    const spacingMs = options.spacingMs ?? scheduleMs / Math.max(1, orderCount);
    const load = paced(kinds, { limit: options.concurrency ?? 12, spacingMs }, async (kind) => {
      placed.push({ kind, orderId: await placeOrder(client, kind, customerId) });
    }).finally(() => (placing = false));

    const faults: FaultRecord[] = [];
    const parts: Record<Infrastructure, Restartable & Pausable> = {
      temporal: cluster.temporal,
      postgres: cluster.postgres,
      broker,
    };
    /** Injects one fault and takes it back; what it hit and how long it kept it down. */
    const inject = async (
      kind: FaultKind,
      draw: { target: number; downtime: number },
      activeAtStart: ManagedProcess | undefined,
    ): Promise<{ target: string; downMs: number; backAt: number } | undefined> => {
      const part = partOf(kind);
      let backAt = Date.now();
      if (part === 'temporal' || part === 'postgres' || part === 'broker') {
        if (isHang(kind)) {
          await parts[part].pause();
          try {
            await sleep(hangMs);
          } finally {
            backAt = Date.now();
            await parts[part].resume();
          }
          return { target: part, downMs: hangMs, backAt };
        }
        const downMs = Math.round(downtimeMs * (0.5 + draw.downtime));
        await parts[part].kill();
        await sleep(downMs);
        backAt = Date.now();
        await parts[part].start();
        return { target: part, downMs, backAt };
      }
      const candidates = cluster.processes.filter((p) => p.spec.role === part);
      // A hung relay is the active one (a hung standby changes nothing), told by its lock's connection.
      const active = kind === 'hang-relay' ? activeAtStart : undefined;
      const victim = active ?? candidates[Math.floor(draw.target * candidates.length)];
      if (!victim) return undefined; // e.g. no relay with TRANSPORT=postgres
      if (!isHang(kind)) {
        await victim.kill('SIGKILL');
        return { target: victim.name, downMs: 0, backAt: Date.now() };
      }
      await victim.pause();
      try {
        await sleep(hangMs);
      } finally {
        backAt = Date.now();
        await victim.resume();
      }
      return { target: `${victim.name}${active ? ' (active)' : ''}`, downMs: hangMs, backAt };
    };

    for (const slot of slots) {
      await sleep(500 + random() * 1500);
      // Drawn before anything runs, so the two faults of a slot draw in the same order every run.
      const draws = slot.map(() => ({ target: random(), downtime: random() }));
      const offsetMs = Math.round(random() * 1000);
      const duringLoad = placing;
      // Told before the slot begins: its other fault may take PostgreSQL away.
      const active = slot.includes('hang-relay')
        ? await activeRelay(
            pool,
            cluster.processes.filter((p) => p.spec.role === 'relay'),
          )
        : undefined;
      const done = await Promise.all(
        slot.map(async (kind, i) => {
          if (i > 0) await sleep(offsetMs);
          const at = Date.now();
          return { kind, at, hit: await inject(kind, draws[i]!, active) };
        }),
      );
      // Restarted, SIGCONT, or (a killed role) left to its supervisor: the last of the slot.
      const back = Math.max(...done.map((d) => d.hit?.backAt ?? d.at));
      await allReady(cluster);
      const ready = Date.now();
      const hits = done.filter((d) => d.hit !== undefined);
      const recorded: FaultRecord[] = [];
      for (const { kind, at, hit } of hits) {
        const other = hits.find((d) => d.kind !== kind);
        const record: FaultRecord = {
          kind,
          target: hit!.target,
          atMs: at - loadStarted,
          downMs: hit!.downMs,
          recoveredInMs: ready - at,
          readyAfterBackMs: ready - back,
          duringLoad,
          ...(other ? { overlapsWith: `${other.kind} ${other.hit!.target}` } : {}),
        };
        faults.push(record);
        recorded.push(record);
        progress(
          `fault ${faults.length}: ${isHang(kind) ? `hung ${hit!.target} for ${hit!.downMs} ms` : `killed ${hit!.target}`}` +
            `${other ? ` (with ${other.kind})` : ''}; all ready again after ${ready - at} ms`,
        );
      }
      // PostgreSQL restarted or thawed under both relays: exactly one may hold the lock.
      const pgFault = recorded.find((f) => partOf(f.kind) === 'postgres');
      if (pgFault) {
        pgFault.relays = await relaysOnceSettled(pool, broker);
        progress(
          `  relays after ${pgFault.kind}: ${pgFault.relays.active} active, ${pgFault.relays.standby} standby ` +
            `(after ${pgFault.relays.waitedMs} ms); ${pgFault.relays.republished} re-published copies so far`,
        );
      }
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

    const afterPostgresFaults = faults
      .filter((f) => f.relays)
      .map((f) => ({ fault: `${f.kind} at ${(f.atMs / 1000).toFixed(1)} s`, ...f.relays! }));
    const results = [
      await invariants.outcomes(pool, placed),
      ...(await invariants.eventsPerOrder(pool, placed)),
      ...(await invariants.effects(pool, placed, stockBefore)),
      ...(await invariants.delivery(pool)),
      await invariants.deadLetters(pool),
      await invariants.readModel(pool),
      await invariants.relays(pool, afterPostgresFaults, await broker.published()),
    ];
    const report: ChaosReport = {
      seed,
      transport,
      hangMs,
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
      exitsOnItsOwn: Object.fromEntries(
        cluster.processes
          .map((p) => [p.name, p.starts - 1 - faults.filter((f) => !isHang(f.kind) && f.target === p.name).length])
          .filter(([, n]) => n !== 0),
      ),
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
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const kinds = FAULT_KINDS.filter((k) => report.faults.some((f) => f.kind === k));
  const width = Math.max(0, ...kinds.map((k) => k.length));
  const perKind = kinds.map((kind) => {
    const of = report.faults.filter((f) => f.kind === kind);
    const worst = Math.max(...of.map((f) => f.recoveredInMs));
    // Beyond the outage itself: how long after its slot was given back all were ready.
    const afterBack = Math.max(...of.map((f) => f.readyAfterBackMs));
    const back = isHang(kind) ? 'SIGCONT' : ['temporal', 'postgres', 'broker'].includes(kind) ? 'restart' : 'the kill';
    return `    ${kind.padEnd(width)} ×${of.length}  all ready ≤ ${seconds(afterBack)} after ${back} (≤ ${seconds(worst)} from the fault)`;
  });
  const relays = report.faults.filter((f) => f.relays);
  const lines = [
    `Chaos run (seed ${report.seed}, transport ${report.transport}, hangs of ${seconds(report.hangMs)}): ${report.ok ? 'PASSED' : 'FAILED'}`,
    `  duration      ${seconds(report.durationMs)} (orders settled ${seconds(report.settleMs)} after the first)`,
    `  orders        ${report.orders.total}: ${Object.entries(report.orders.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `  faults        ${report.faults.length} (${report.faults.filter((f) => f.duringLoad).length} while orders were being placed, ` +
      `${report.faults.filter((f) => f.overlapsWith).length} two at once); worst recovery per kind:`,
    ...perKind,
    ...(relays.length
      ? [
          `  relays        after each PostgreSQL fault, once all were ready: ${relays
            .map((f) => `${f.relays!.active} active/${f.relays!.standby} standby`)
            .join(', ')}`,
        ]
      : []),
    `  retries       ${report.requestRetries} HTTP requests retried by the client`,
    `  restarts      ${Object.entries(report.processRestarts)
      .map(([n, r]) => `${n} ${r}${report.exitsOnItsOwn[n] ? ` (${report.exitsOnItsOwn[n]} on its own)` : ''}`)
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
