// The world of a delivery fault test (relay-faults, rabbitmq-outage): a database, broker
// resources and a recording consumer of its own, writers that keep appending, and the check
// that every event took effect exactly once, in stream order. Everything a test starts is
// undone after it (`undoAfterEach`), last started first, even on failure.
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import type { ConsumerDefinition } from '../../src/delivery/consumer';
import { startDelivery } from '../../src/delivery/start';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { createLogger } from '../../src/logger';
import { relaySubscriber } from '../../src/delivery/relay';
import type { Pool } from '../../src/store/pool';
import type { TransportKind } from '../../src/delivery/contract';
import { waitFor, WaitTimeoutError } from '../../src/util/wait';
import { createTestDatabase, type TestDatabase } from './database';
import {
  appendApproved,
  isolatedTransport,
  newStreamId,
  RECORDER_SQL,
  recordedEffects,
  recorder,
  removeBrokerResources,
} from './delivery';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
const INTERVALS = { pollMs: 250, rebalanceMs: 250, standbyMs: 250 };
export const note = (line: string) => process.stderr.write(`[delivery-faults] ${line}\n`);

export const BROKER_URL: Record<'rabbitmq' | 'nats', string | undefined> = {
  rabbitmq: process.env.SAGA_TEST_AMQP_URL,
  nats: process.env.SAGA_TEST_NATS_URL,
};

/** Events appended while a broker is down, for the relay to drain afterwards. */
const OUTAGE_BACKLOG = 1000;

/** `describe`, or `describe.skip` with one line saying why. */
export function describeIf(reason: string | null, name: string, fn: () => void): void {
  if (reason) note(`Skipping "${name}": ${reason}.`);
  (reason ? describe.skip : describe)(name, fn);
}
export const brokerMissing = (kind: 'rabbitmq' | 'nats') =>
  BROKER_URL[kind]
    ? null
    : `${kind === 'rabbitmq' ? 'RabbitMQ' : 'NATS'} is not reachable (${kind === 'rabbitmq' ? 'SAGA_TEST_AMQP_URL' : 'SAGA_TEST_NATS_URL'} unset)`;

const cleanups: { what: string; run: () => Promise<unknown> }[] = [];
/** Undoes `run` after the current test (after what was registered later). */
export const atEnd = (what: string, run: () => Promise<unknown>) => cleanups.push({ what, run });
/** Call once at the top of a test file that uses `atEnd`. */
export function undoAfterEach(): void {
  afterEach(async () => {
    for (const { what, run } of cleanups.splice(0).reverse()) {
      await run().catch((err: Error) => note(`clean-up "${what}" failed: ${err.message}`));
    }
  });
}

/** Kills a child process (SIGKILL works on a SIGSTOPped one too) and waits for it to end. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

export interface World {
  db: TestDatabase;
  settings: TransportSettings;
  consumer: ConsumerDefinition;
}

export async function createWorld(kind: TransportKind, options: { natsUrl?: string; partitions?: number } = {}) {
  const db = await createTestDatabase();
  atEnd('drop the database', () => db.drop());
  await db.pool.query(RECORDER_SQL);
  const settings = isolatedTransport(kind, options.natsUrl ?? process.env.SAGA_TEST_NATS_URL);
  const consumer = recorder({ partitions: options.partitions ?? 1 });
  atEnd('remove broker resources', () => removeBrokerResources(settings, [consumer]));
  return { db, settings, consumer } satisfies World;
}

/** Relay and/or consumers in this process; counters go to a registry of their own. */
export async function startHere(world: World, options: { relay: boolean }) {
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
export async function deliveries(registry: Registry, outcome: string): Promise<number> {
  const metric = registry.getSingleMetric('saga_consumer_deliveries_total');
  const values = (await metric?.get())?.values ?? [];
  return values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
}

/** Load: writers appending to streams of their own, in version order, until stopped. */

export class Load {
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
export const handled = (pool: Pool) => countOf(pool, 'SELECT count(*)::int AS n FROM test_deliveries');
export const stored = (pool: Pool) => countOf(pool, 'SELECT count(*)::int AS n FROM events');

/** Events the consumer has handled that lie past the relay's checkpoint: published, not yet checkpointed. */
export const handledPastCheckpoint = (pool: Pool, kind: TransportKind) =>
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
export async function expectEveryEventOnceInOrder(world: World, timeoutMs = 60_000): Promise<number> {
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
export async function streamMessages(settings: TransportSettings): Promise<number> {
  const nc = await connect({ servers: settings.natsUrl! });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(settings.names!.stream!);
    return info.state.messages;
  } finally {
    await nc.close();
  }
}

/** Load under way and delivered (300 handled): the start of an outage test. */
export async function loadUnderWay(world: World): Promise<Load> {
  const load = new Load(world.db.pool, { writers: 6, streamsPerWriter: 8, pauseMs: 10 });
  atEnd('stop the load', () => load.stop());
  await waitFor(async () => (await handled(world.db.pool)) >= 300, { timeoutMs: 30_000, description: 'delivery' });
  return load;
}

/** While the broker is down: waits for a backlog of events committed behind its back. */
export async function backlogWhileDown(load: Load, appendedAtOutage: number, broker: string): Promise<void> {
  await waitFor(() => load.appended >= appendedAtOutage + OUTAGE_BACKLOG, {
    timeoutMs: 30_000,
    description: `events appended while ${broker} is down`,
  });
  expect(load.appended).toBeGreaterThan(appendedAtOutage);
}

/**
 * Once the broker is back: everything written up to now is delivered while the writers go on,
 * then they stop and every event must have taken effect once, in order. Returns how long the
 * catch-up took and the events in all.
 */
export async function catchUpAfterOutage(
  world: World,
  load: Load,
  restart: string,
): Promise<{ caughtUpMs: number; total: number }> {
  const startedAt = Date.now();
  const storedAtStart = await stored(world.db.pool);
  // The writers go on, at a trickle: on a busy machine their full rate kept piling up events
  // (4,600 to 7,600 for the same NATS outage) that the catch-up then had to deliver too.
  load.pauseMs = 40;
  await waitFor(async () => (await handled(world.db.pool)) > storedAtStart, {
    timeoutMs: 45_000,
    description: `delivery to catch up after ${restart}`,
  });
  const caughtUpMs = Date.now() - startedAt;
  await load.stop();
  return { caughtUpMs, total: await expectEveryEventOnceInOrder(world) };
}
