// Faults on the way from the log to the consumers: the relay killed with SIGKILL mid-publish
// and restarted, the active relay killed while a standby waits, and each broker going away
// under load. Whatever happens, every event must take effect exactly once, in stream order.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import type { ConsumerDefinition } from '../../src/delivery/consumer';
import { startDelivery } from '../../src/delivery/start';
import { deliveryStatus } from '../../src/delivery/status';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { createLogger } from '../../src/logger';
import { relaySubscriber } from '../../src/delivery/relay';
import type { Pool } from '../../src/store/pool';
import type { TransportKind } from '../../src/delivery/contract';
import { findOnPath } from '../../src/util/executable';
import { isReachable } from '../../src/util/free-port';
import { ownNatsServer, sharedRabbitMq } from '../../chaos/broker';
import { waitFor, WaitTimeoutError } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import {
  appendApproved,
  isolatedTransport,
  newStreamId,
  RECORDER_SQL,
  recordedEffects,
  recorder,
  removeBrokerResources,
} from '../helpers/delivery';
import { exclusively } from '../helpers/suite-locks';

const ROOT = path.resolve(__dirname, '../..');
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const INTERVALS = { pollMs: 250, rebalanceMs: 250, standbyMs: 250 };
const note = (line: string) => process.stderr.write(`[relay-faults] ${line}\n`);

const BROKER_URL: Record<'rabbitmq' | 'nats', string | undefined> = {
  rabbitmq: process.env.SAGA_TEST_AMQP_URL,
  nats: process.env.SAGA_TEST_NATS_URL,
};
// The outage test stops RabbitMQ itself: no other file runs meanwhile.
exclusively('rabbitmq');

const RABBITMQCTL = findOnPath('rabbitmqctl');
const NATS_SERVER = findOnPath('nats-server');

/** `describe`, or `describe.skip` with one line saying why. */
function describeIf(reason: string | null, name: string, fn: () => void): void {
  if (reason) process.stderr.write(`[relay-faults] Skipping "${name}": ${reason}.\n`);
  (reason ? describe.skip : describe)(name, fn);
}
const brokerMissing = (kind: 'rabbitmq' | 'nats') =>
  BROKER_URL[kind]
    ? null
    : `${kind === 'rabbitmq' ? 'RabbitMQ' : 'NATS'} is not reachable (${kind === 'rabbitmq' ? 'SAGA_TEST_AMQP_URL' : 'SAGA_TEST_NATS_URL'} unset)`;

// ---------------------------------------------------------------------------------------------
// Clean-up: everything a test starts is undone after it, last started first, even on failure.

const cleanups: { what: string; run: () => Promise<unknown> }[] = [];
const atEnd = (what: string, run: () => Promise<unknown>) => cleanups.push({ what, run });
afterEach(async () => {
  for (const { what, run } of cleanups.splice(0).reverse()) {
    await run().catch((err: Error) => note(`clean-up "${what}" failed: ${err.message}`));
  }
});

/** Kills a child process (SIGKILL works on a SIGSTOPped one too) and waits for it to end. */
async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

// ---------------------------------------------------------------------------------------------
// The world of one test: its own database, broker resources, recorder consumer.

interface World {
  db: TestDatabase;
  settings: TransportSettings;
  consumer: ConsumerDefinition;
}

async function createWorld(kind: TransportKind, options: { natsUrl?: string; partitions?: number } = {}) {
  const db = await createTestDatabase();
  atEnd('drop the database', () => db.drop());
  await db.pool.query(RECORDER_SQL);
  const settings = isolatedTransport(kind, options.natsUrl ?? process.env.SAGA_TEST_NATS_URL);
  const consumer = recorder({ partitions: options.partitions ?? 1 });
  atEnd('remove broker resources', () => removeBrokerResources(settings, [consumer]));
  return { db, settings, consumer } satisfies World;
}

/** Relay and/or consumers in this process; counters go to a registry of their own. */
async function startHere(world: World, options: { relay: boolean }) {
  const registry = new Registry();
  const delivery = await startDelivery({
    pool: world.db.pool,
    connectionString: world.db.url,
    transport: world.settings,
    consumers: [world.consumer],
    topology: [world.consumer],
    relay: options.relay,
    logger,
    registry,
    intervals: INTERVALS,
  });
  atEnd('stop delivery', () => delivery.stop());
  return { delivery, registry };
}

/** Deliveries the in-process consumers counted with this outcome. */
async function deliveries(registry: Registry, outcome: string): Promise<number> {
  const metric = registry.getSingleMetric('saga_consumer_deliveries_total');
  const values = (await metric?.get())?.values ?? [];
  return values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
}

interface RelayProcess {
  child: ChildProcess;
  /** The role from the latest `state` line. */
  role(): string | undefined;
  /** Everything but `state` lines, for failure messages. */
  log(): string;
}

/** A relay in its own process (test/helpers/delivery-process.ts), on the same broker names. */
function startRelayProcess(world: World): Promise<RelayProcess> {
  // `node --import tsx` (not the tsx CLI, which runs a second process): SIGKILL must hit the relay itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/delivery-process.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DELIVERY_DATABASE_URL: world.db.url,
      DELIVERY_TRANSPORT: JSON.stringify(world.settings),
      DELIVERY_ROLE: 'relay',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  atEnd('kill a relay process', () => killChild(child));
  let log = '';
  let partial = '';
  let role: string | undefined;
  const relay: RelayProcess = { child, role: () => role, log: () => log };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('state ')) role = (JSON.parse(line.slice('state '.length)) as { relay?: string }).relay;
        else log += `${line}\n`;
        if (line === 'delivery ready') resolve(relay);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.once('exit', (code, signal) =>
      reject(new Error(`relay process exited (${code ?? signal}) before it was ready:\n${log}`)),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Load: writers appending to streams of their own, in version order, until stopped.

class Load {
  appended = 0;
  /** Each writer's pause after every transaction (keeps an endless load within what consumers take). */
  pauseMs: number;
  private stopped = false;
  private readonly max: number;
  private readonly writers: Promise<void>[];

  constructor(pool: Pool, options: { writers: number; streamsPerWriter: number; max?: number; pauseMs?: number }) {
    this.max = options.max ?? Number.POSITIVE_INFINITY;
    this.pauseMs = options.pauseMs ?? 0;
    this.writers = Array.from({ length: options.writers }, () => this.write(pool, options.streamsPerWriter));
    // Failures surface through done()/stop(); never as an unhandled rejection.
    Promise.all(this.writers).catch(() => undefined);
  }

  private async write(pool: Pool, streams: number): Promise<void> {
    const mine = Array.from({ length: streams }, () => ({ id: newStreamId(), version: 0 }));
    for (;;) {
      for (const stream of mine) {
        if (this.stopped || this.appended >= this.max) return;
        // Mostly one event per transaction, every fifth transaction three.
        const count = stream.version % 5 === 0 ? 3 : 1;
        await appendApproved(pool, stream.id, stream.version, count);
        stream.version += count;
        this.appended += count;
        if (this.pauseMs > 0) await sleep(this.pauseMs);
      }
    }
  }

  /** Resolves once `max` events were appended. */
  async done(): Promise<number> {
    await Promise.all(this.writers);
    return this.appended;
  }

  async stop(): Promise<number> {
    this.stopped = true;
    return this.done();
  }
}

const countOf = async (pool: Pool, sql: string, params: unknown[] = []) =>
  (await pool.query<{ n: number }>(sql, params)).rows[0]!.n;
const handled = (pool: Pool) => countOf(pool, 'SELECT count(*)::int AS n FROM test_deliveries');
const stored = (pool: Pool) => countOf(pool, 'SELECT count(*)::int AS n FROM events');

/** Events the consumer has handled that lie past the relay's checkpoint: published, not yet checkpointed. */
const handledPastCheckpoint = (pool: Pool, kind: TransportKind) =>
  countOf(
    pool,
    `SELECT count(*)::int AS n FROM test_deliveries d
       JOIN events e ON e.event_id = d.event_id
       JOIN subscription_checkpoints c ON c.subscriber = $1
      WHERE (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)`,
    [relaySubscriber(kind)],
  );

/**
 * Every stored event took effect exactly once, each stream's in version order, and nothing
 * was dead-lettered. The deadline covers the relay's and consumers' broker backoff (≤ 10 s).
 */
async function expectEveryEventOnceInOrder(world: World, timeoutMs = 60_000): Promise<number> {
  const { pool } = world.db;
  const expected = await stored(pool);
  try {
    await waitFor(async () => (await recordedEffects(pool, world.consumer.name)).distinct >= expected, {
      timeoutMs,
      intervalMs: 250,
    });
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    const effects = await recordedEffects(pool, world.consumer.name);
    throw new Error(`Only ${effects.distinct} of ${expected} events took effect within ${timeoutMs} ms`);
  }
  const effects = await recordedEffects(pool, world.consumer.name);
  expect({
    doubled: effects.doubled,
    outOfOrder: effects.outOfOrder.slice(0, 10),
    distinct: effects.distinct,
    total: effects.total,
  }).toEqual({ doubled: [], outOfOrder: [], distinct: expected, total: expected });
  expect(await countOf(pool, 'SELECT count(*)::int AS n FROM dead_letters')).toBe(0);
  return expected;
}

/** Messages a JetStream stream holds (a re-publish the server recognised adds none). */
async function streamMessages(settings: TransportSettings): Promise<number> {
  const nc = await connect({ servers: settings.natsUrl! });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(settings.names!.stream!);
    return info.state.messages;
  } finally {
    await nc.close();
  }
}

/**
 * Kills the relay process between a publish and its checkpoint. Freezes it (SIGSTOP), lets
 * the consumer take what the broker already holds, and looks for handled events past the
 * relay's checkpoint: they prove a batch is out but not checkpointed, so SIGKILL now. Else
 * let it run a moment longer and look again.
 */
async function killWhilePublishing(relay: RelayProcess, world: World, kind: TransportKind) {
  const { pool } = world.db;
  for (let probe = 1; probe <= 60; probe++) {
    relay.child.kill('SIGSTOP');
    let last = -1;
    let still = 0;
    const deadline = Date.now() + 5000;
    while (still < 3 && Date.now() < deadline) {
      const past = await handledPastCheckpoint(pool, kind);
      if (past > 0) {
        await killChild(relay.child);
        return { probe, past };
      }
      const now = await handled(pool);
      still = now === last ? still + 1 : 0;
      last = now;
      await sleep(100);
    }
    relay.child.kill('SIGCONT');
    await sleep(20 + Math.random() * 80);
  }
  throw new Error(`The relay was never caught between a publish and its checkpoint:\n${relay.log()}`);
}

// ---------------------------------------------------------------------------------------------

const BROKERS = ['rabbitmq', 'nats'] as const;
/** Events appended while a broker is down, for the relay to drain afterwards. */
const OUTAGE_BACKLOG = 1000;

for (const kind of BROKERS) {
  describeIf(brokerMissing(kind), `relay process faults over ${kind}`, () => {
    test('a relay killed with SIGKILL between publish and checkpoint is restarted: every event once, in order', async () => {
      const world = await createWorld(kind);
      const { registry } = await startHere(world, { relay: false });
      const { pool } = world.db;

      // A backlog first, so the relay starts with full batches; writers keep appending.
      const load = new Load(pool, { writers: 6, streamsPerWriter: 8 });
      atEnd('stop the load', () => load.stop());
      await waitFor(() => load.appended >= 1500, { timeoutMs: 30_000, description: 'a backlog' });
      load.pauseMs = 15; // then a trickle the consumer keeps up with

      const first = await startRelayProcess(world);
      await waitFor(async () => (await handled(pool)) >= 300, {
        timeoutMs: 30_000,
        description: 'the first relay to deliver',
      });
      const { probe, past } = await killWhilePublishing(first, world, kind);
      expect(first.child.signalCode).toBe('SIGKILL');
      note(`${kind}: relay killed at probe ${probe}, ${past} handled events past its checkpoint`);

      // The log grows while no relay runs; the next one starts from the old checkpoint.
      const appendedAtKill = load.appended;
      await waitFor(() => load.appended >= appendedAtKill + 500, { timeoutMs: 30_000, description: 'more events' });
      await load.stop();
      const second = await startRelayProcess(world);
      const total = await expectEveryEventOnceInOrder(world);
      expect(second.role()).toBe('active');

      const duplicates = await deliveries(registry, 'duplicate');
      note(`${kind}: ${total} events, ${duplicates} duplicate deliveries absorbed by the inbox`);
      if (kind === 'rabbitmq') {
        // The re-published batch reached the consumer again; the inbox gave it no second effect.
        expect(duplicates).toBeGreaterThanOrEqual(past);
      } else {
        // JetStream recognised the re-published batch by Nats-Msg-Id: no second message at all.
        expect(await streamMessages(world.settings)).toBe(total);
      }
    });

    test('the active relay killed with SIGKILL: the standby takes over and every event arrives once, in order', async () => {
      const world = await createWorld(kind);
      await startHere(world, { relay: false });
      const { pool } = world.db;

      const relays = await Promise.all([startRelayProcess(world), startRelayProcess(world)]);
      const [active, standby] = await waitFor(
        () => {
          const a = relays.find((r) => r.role() === 'active');
          const s = relays.find((r) => r.role() === 'standby');
          return a && s ? ([a, s] as const) : undefined;
        },
        { timeoutMs: 15_000, description: 'one active and one standby relay' },
      );
      // What an operator sees (GET /delivery): the active relay and its standby.
      const relayFigures = async () => (await deliveryStatus(pool, kind, [])).relay;
      await waitFor(async () => ((await relayFigures())?.standbys === 1 ? true : undefined), {
        timeoutMs: 15_000,
        description: 'the delivery status to count one standby relay',
      });
      expect(await relayFigures()).toMatchObject({ active: true, standbys: 1 });

      const load = new Load(pool, { writers: 6, streamsPerWriter: 8, max: 3000 });
      atEnd('stop the load', () => load.stop());
      await waitFor(async () => (await handled(pool)) >= 500, {
        timeoutMs: 30_000,
        description: 'the active relay to deliver',
      });
      const handledAtKill = await handled(pool);
      await killChild(active.child);
      const killedAt = Date.now();
      await waitFor(() => standby.role() === 'active', {
        timeoutMs: 15_000,
        description: 'the standby to report itself active',
      });
      const takeoverMs = Date.now() - killedAt;
      expect(handledAtKill).toBeLessThan(3000); // killed mid-flight
      await waitFor(async () => ((await relayFigures())?.standbys === 0 ? true : undefined), {
        timeoutMs: 15_000,
        description: 'the delivery status to count no standby once it took over',
      });
      expect(await relayFigures()).toMatchObject({ active: true, standbys: 0 });

      await load.done();
      const total = await expectEveryEventOnceInOrder(world);
      note(`${kind}: standby active ${takeoverMs} ms after the kill; ${total} events`);
    });
  });
}

// ---------------------------------------------------------------------------------------------

describeIf(
  brokerMissing('rabbitmq') ?? (RABBITMQCTL ? null : 'rabbitmqctl is not on PATH'),
  'RabbitMQ outage under load',
  () => {
    test('rabbitmqctl stop_app, writers keep appending, start_app: every event once, in order', async () => {
      const world = await createWorld('rabbitmq', { partitions: 2 });
      const { delivery, registry } = await startHere(world, { relay: true });
      const { pool } = world.db;
      const amqp = new URL(BROKER_URL.rabbitmq!);
      // The chaos suite's handle on the shared broker: stop_app / start_app, never left stopped.
      const rabbit = await sharedRabbitMq(BROKER_URL.rabbitmq!);
      atEnd('start RabbitMQ again if it is stopped', () => rabbit.close());

      const load = new Load(pool, { writers: 6, streamsPerWriter: 8, pauseMs: 10 });
      atEnd('stop the load', () => load.stop());
      await waitFor(async () => (await handled(pool)) >= 300, { timeoutMs: 30_000, description: 'delivery' });

      const stoppedAt = Date.now();
      try {
        await rabbit.kill();
        expect(await isReachable(amqp.hostname, Number(amqp.port || 5672))).toBe(false);
        const appendedAtStop = load.appended;
        // The relay notices: its next publish fails.
        await waitFor(() => delivery.relay!.lastError, { timeoutMs: 15_000, description: 'the relay to fail' });
        // Load while the broker is down: a backlog of events committed behind its back.
        await waitFor(() => load.appended >= appendedAtStop + OUTAGE_BACKLOG, {
          timeoutMs: 30_000,
          description: 'events appended while RabbitMQ is down',
        });
        expect(load.appended).toBeGreaterThan(appendedAtStop);
      } finally {
        await rabbit.start();
      }
      const startedAt = Date.now();

      // Everything written up to the restart is delivered while writers go on, then they stop.
      const storedAtStart = await stored(pool);
      await waitFor(async () => (await handled(pool)) > storedAtStart, {
        timeoutMs: 45_000,
        description: 'delivery to catch up after start_app',
      });
      const caughtUpAt = Date.now();
      await load.stop();
      const total = await expectEveryEventOnceInOrder(world);
      note(
        `rabbitmq outage: down ${startedAt - stoppedAt} ms (stop_app..start_app), caught up ${caughtUpAt - startedAt} ms ` +
          `later; ${total} events, ${await deliveries(registry, 'duplicate')} duplicate deliveries absorbed`,
      );
    });
  },
);

describeIf(
  NATS_SERVER ? null : 'nats-server is not on PATH',
  'NATS outage under load (a nats-server of its own)',
  () => {
    test('nats-server killed with SIGKILL and restarted on its store: every event once, in order', async () => {
      const storeDir = await mkdtemp(path.join(os.tmpdir(), 'saga-nats-'));
      atEnd('remove the NATS store', () => rm(storeDir, { recursive: true, force: true }));
      // The chaos suite's own nats-server: SIGKILLed and restarted on its store.
      const server = await ownNatsServer(storeDir);
      // Registered before the world's clean-up, so it runs after: delivery stops against a live server.
      atEnd('kill nats-server', () => server.close());

      const world = await createWorld('nats', { natsUrl: server.env.NATS_URL, partitions: 2 });
      const { registry } = await startHere(world, { relay: true });
      const { pool } = world.db;

      const load = new Load(pool, { writers: 6, streamsPerWriter: 8, pauseMs: 10 });
      atEnd('stop the load', () => load.stop());
      await waitFor(async () => (await handled(pool)) >= 300, { timeoutMs: 30_000, description: 'delivery' });

      const killedAt = Date.now();
      await server.kill();
      const appendedAtKill = load.appended;
      // Load while the broker is down: a backlog of events committed behind its back.
      await waitFor(() => load.appended >= appendedAtKill + OUTAGE_BACKLOG, {
        timeoutMs: 30_000,
        description: 'events appended while NATS is down',
      });
      expect(load.appended).toBeGreaterThan(appendedAtKill);
      await server.start();
      const startedAt = Date.now();

      // Everything written up to the restart is delivered while writers go on, then they stop.
      const storedAtStart = await stored(pool);
      await waitFor(async () => (await handled(pool)) > storedAtStart, {
        timeoutMs: 45_000,
        description: 'delivery to catch up after the restart',
      });
      const caughtUpAt = Date.now();
      await load.stop();
      const total = await expectEveryEventOnceInOrder(world);
      const messages = await streamMessages(world.settings);
      note(
        `nats outage: down ${startedAt - killedAt} ms, caught up ${caughtUpAt - startedAt} ms later; ${total} events, ` +
          `${messages} messages in the stream, ${await deliveries(registry, 'duplicate')} duplicate deliveries absorbed`,
      );
      // Batches re-published after the outage were recognised by Nats-Msg-Id (the store kept them).
      expect(messages).toBe(total);
    });
  },
);
