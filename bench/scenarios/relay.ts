import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect as connectNats, headers as natsHeaders, nanos } from '@nats-io/transport-node';
import amqp, { type ChannelModel } from 'amqplib';
import { CONSUMERS } from '../../src/consumers';
import { defineConsumer, type ConsumerDefinition } from '../../src/delivery/consumer';
import { startDelivery, type Delivery } from '../../src/delivery/start';
import type { TransportSettings } from '../../src/delivery/transport-factory';
import { validateNewEvent } from '../../src/events/catalog';
import { createLogger } from '../../src/logger';
import { relaySubscriber } from '../../src/delivery/relay';
import { positionOf, START_OF_LOG, type LogPosition, type RawEvent } from '../../src/delivery/contract';
import { peekCheckpoint, readCommitted, untilCommittedReadable } from '../../src/delivery/reader';
import { appendToStream, type NewEvent } from '../../src/store/event-store';
import { withTransaction, type Pool } from '../../src/store/pool';
import { encodeEvent, eventHeaders, partitionPatterns } from '../../src/delivery/transports/codec';
import { createNatsTransport, STREAM, SUBJECT_PREFIX, subjectOf } from '../../src/delivery/transports/nats';
import {
  createRabbitMqTransport,
  EXCHANGE,
  queueName,
  routingKeyOf,
  unroutedExchange,
  unroutedQueue,
} from '../../src/delivery/transports/rabbitmq';
import {
  perSecond,
  quantile,
  type BenchDatabase,
  type Figure,
  type Ratio,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
} from '../harness';

/**
 * The relay scenario:
 *  1. relay throughput (events/s from commit to broker confirm) against a hand-written
 *     confirmed-publish loop to the same broker, same bodies, same batch/confirm discipline;
 *  2. commit-to-consumer latency at a moderate offered rate, Postgres-native (NOTIFY-woken)
 *     and through each broker (relay + consumer);
 *  3. the peak RSS of a `saga relay` process (RabbitMQ).
 */

type Broker = 'rabbitmq' | 'nats';

/** Events relayed at scale 1. */
const THROUGHPUT_EVENTS = 20_000;
/** Measured events per latency run at scale 1 (10 s at the offered rate). */
const LATENCY_EVENTS = 2_000;
/** Never fewer than this, whatever the scale. */
const MIN_THROUGHPUT_EVENTS = 400;
const MIN_LATENCY_EVENTS = 300;
const WARMUP_EVENTS = 20;
/** Offered rate of the latency runs: one event per transaction. */
const OFFERED_PER_SECOND = 200;
/** The relay's publish batch (Relay's default; startDelivery does not change it). */
const RELAY_BATCH = 500;
/** Serial and pipelined relay runs, alternated this many times (the faster of each counts). */
const PIPELINE_ROUNDS = 2;
/** The relay's batches in flight per broker: each transport's own relayPipelineDepth (nothing connects). */
const DEFAULT_DEPTH: Record<Broker, number> = {
  rabbitmq: createRabbitMqTransport({ url: 'amqp://unused' }).relayPipelineDepth,
  nats: createNatsTransport({ url: 'nats://unused' }).relayPipelineDepth,
};
/** Poll interval during the latency runs: a wake-up by NOTIFY is ~ms, one by polling would be seconds. */
const LATENCY_POLL_MS = 5_000;
/** Appending the backlog: streams per transaction and transactions in flight. */
const STREAMS_PER_TX = 50;
const APPEND_LANES = 4;

const QUORUM_ARGS = { 'x-queue-type': 'quorum', 'x-single-active-consumer': true };

const FIXTURES = path.resolve(__dirname, '../../test/fixtures/events');
const REPO = path.resolve(__dirname, '../..');

/** One order's life in the catalog's own words: the event types an order stream goes through. */
const LIFECYCLE = [
  'order.created',
  'order.approval_requested',
  'order.approved',
  'inventory.reserved',
  'payment.authorized',
  'payment.captured',
  'shipment.scheduled',
  'order.confirmed',
] as const;

interface Template {
  eventType: string;
  schemaVersion: number;
  payload: Record<string, unknown>;
}

/** The newest-version fixture of each lifecycle type, validated against the catalog. */
function loadTemplates(): Template[] {
  return LIFECYCLE.map((eventType) => {
    let version = 1;
    while (existsSync(path.join(FIXTURES, eventType, `v${version + 1}.json`))) version++;
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES, eventType, `v${version}.json`), 'utf8')) as {
      payload: Record<string, unknown>;
    };
    const checked = validateNewEvent(eventType, { ...fixture.payload, orderId: randomUUID() });
    if (checked.schemaVersion !== version) {
      throw new Error(`relay bench: fixture ${eventType} v${version} is not the newest (v${checked.schemaVersion})`);
    }
    return { eventType, schemaVersion: version, payload: fixture.payload };
  });
}

function eventOf(template: Template, orderId: string, correlationId: string): NewEvent {
  return {
    eventId: randomUUID(),
    eventType: template.eventType,
    schemaVersion: template.schemaVersion,
    payload: { ...template.payload, orderId },
    metadata: { correlationId, causationId: randomUUID(), workflowId: `order-${orderId}` },
  };
}

/** A consumer handling every lifecycle type (its queue / durable is what the relay publishes into). */
function sinkConsumer(name: string, handle: ConsumerDefinition['handle'] = async () => undefined, partitions = 1) {
  return defineConsumer({ name, handles: [...LIFECYCLE], maxAttempts: 1, handle, partitions });
}

interface BrokerNames {
  exchange: string;
  queuePrefix: string;
  stream: string;
  subjectPrefix: string;
}

/** The RabbitMQ names `saga relay` uses (the CLI has no setting for them). */
const CLI_NAMES: BrokerNames = {
  exchange: EXCHANGE,
  queuePrefix: 'saga',
  stream: STREAM,
  subjectPrefix: SUBJECT_PREFIX,
};

/** Broker resources of this run only, so nothing else on the broker is disturbed. */
function isolatedNames(role: string): BrokerNames {
  const tag = randomBytes(4).toString('hex');
  return {
    exchange: `bench.${role}.${tag}.events`,
    queuePrefix: `bench.${role}.${tag}`,
    stream: `BENCH_${role.toUpperCase()}_${tag}`,
    subjectPrefix: `bench${role}${tag}`,
  };
}

function settingsFor(ctx: ScenarioContext, kind: TransportSettings['kind'], names?: BrokerNames): TransportSettings {
  return { kind, amqpUrl: ctx.amqpUrl, natsUrl: ctx.natsUrl, ...(names ? { names } : {}) };
}

/** Deletes queues and an exchange (RabbitMQ) or a stream with its consumers (NATS); absent ones are fine. */
async function removeBrokerResources(
  kind: Broker,
  url: string,
  names: BrokerNames,
  consumers: readonly ConsumerDefinition[],
  extraQueues: readonly string[] = [],
): Promise<void> {
  if (kind === 'rabbitmq') {
    const connection = await amqp.connect(url);
    connection.on('error', () => undefined);
    try {
      const queues = [
        ...consumers.flatMap((c) =>
          Array.from({ length: c.partitions }, (_, p) => queueName(c.name, p, names.queuePrefix)),
        ),
        ...extraQueues,
        unroutedQueue(names.queuePrefix),
      ];
      // One channel per operation: a failed one closes its channel.
      for (const queue of queues) {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        await channel.deleteQueue(queue).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteExchange(names.exchange).catch(() => undefined);
      await channel.deleteExchange(unroutedExchange(names.exchange)).catch(() => undefined);
      await channel.close().catch(() => undefined);
    } finally {
      await connection.close().catch(() => undefined);
    }
  } else {
    const nc = await connectNats({ servers: url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(names.stream).catch(() => undefined);
    } finally {
      await nc.close();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Throughput

/** Appends `count` valid events as order streams of the lifecycle, many streams per transaction. */
async function appendBacklog(ctx: ScenarioContext, pool: Pool, templates: Template[], count: number): Promise<void> {
  const task = ctx.progress(`relay: append ${count} events`, count);
  const streams: { orderId: string; size: number }[] = [];
  for (let left = count; left > 0; left -= templates.length) {
    streams.push({ orderId: randomUUID(), size: Math.min(templates.length, left) });
  }
  let next = 0;
  const lane = async () => {
    while (next < streams.length) {
      const chunk = streams.slice(next, next + STREAMS_PER_TX);
      next += STREAMS_PER_TX;
      await withTransaction(pool, async (tx) => {
        for (const s of chunk) {
          const correlationId = randomUUID();
          await appendToStream(
            tx,
            `order-${s.orderId}`,
            0,
            templates.slice(0, s.size).map((t) => eventOf(t, s.orderId, correlationId)),
          );
        }
      });
      task.increment(chunk.reduce((n, s) => n + s.size, 0));
    }
  };
  await Promise.all(Array.from({ length: APPEND_LANES }, lane));
  task.done();
}

/** Every committed event, in the relay's order (the baseline publishes exactly these bodies). */
async function readAll(pool: Pool, count: number): Promise<{ events: RawEvent[]; readMs: number; batches: number }> {
  const events: RawEvent[] = [];
  let position: LogPosition = START_OF_LOG;
  let batches = 0;
  await untilCommittedReadable(pool); // not held back by a transaction elsewhere on the server
  const started = performance.now();
  for (;;) {
    const batch = await readCommitted(pool, position, RELAY_BATCH);
    if (batch.length === 0) break;
    batches++;
    events.push(...batch);
    position = positionOf(batch.at(-1)!);
  }
  const readMs = performance.now() - started;
  if (events.length !== count) throw new Error(`relay bench: ${events.length} committed events, expected ${count}`);
  return { events, readMs, batches };
}

/** The baseline's queues: `<prefix>.raw` for one partition, `<prefix>.raw.<p>` for more. */
const rawQueue = (names: BrokerNames, partition: number) =>
  partition === 0 ? `${names.queuePrefix}.raw` : `${names.queuePrefix}.raw.${partition}`;

/** What a careful hand-written RabbitMQ publisher does: confirm channel, persistent, confirms per batch. */
async function rawPublishRabbit(
  ctx: ScenarioContext,
  url: string,
  names: BrokerNames,
  events: readonly RawEvent[],
  partitions = 1,
): Promise<Timing> {
  // Bodies and properties built as the relay builds them: the same message sizes.
  const messages = events.map((event) => ({
    routingKey: routingKeyOf(event),
    body: encodeEvent(event),
    options: {
      persistent: true,
      messageId: event.eventId,
      type: event.eventType,
      contentType: 'application/json',
      timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
      correlationId: typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : undefined,
      headers: eventHeaders(event),
    },
  }));
  const task = ctx.progress(`relay: raw confirmed publish → RabbitMQ (${events.length})`, events.length);
  const elapsed = stopwatch();
  let connection: ChannelModel | undefined;
  try {
    connection = await amqp.connect(url);
    connection.on('error', () => undefined);
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    await channel.assertExchange(names.exchange, 'topic', { durable: true });
    // Bound as a consumer's partition queues are: each its own buckets of each type.
    for (let p = 0; p < partitions; p++) {
      const queue = rawQueue(names, p);
      await channel.assertQueue(queue, { durable: true, arguments: QUORUM_ARGS });
      for (const pattern of partitionPatterns(p, partitions)) {
        for (const type of LIFECYCLE) await channel.bindQueue(queue, names.exchange, `${pattern}.${type}`);
      }
    }
    for (let i = 0; i < messages.length; i += RELAY_BATCH) {
      const batch = messages.slice(i, i + RELAY_BATCH);
      for (const m of batch) {
        if (!channel.publish(names.exchange, m.routingKey, m.body, m.options)) {
          await new Promise((resolve) => channel.once('drain', resolve));
        }
      }
      await channel.waitForConfirms();
      task.increment(batch.length);
    }
    const timing = elapsed();
    task.done();
    return timing;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/** What a careful hand-written JetStream publisher does: a batch published concurrently, every PubAck awaited. */
async function rawPublishNats(
  ctx: ScenarioContext,
  url: string,
  names: BrokerNames,
  events: readonly RawEvent[],
): Promise<Timing> {
  const messages = events.map((event) => ({
    subject: subjectOf(event, names.subjectPrefix),
    body: encodeEvent(event),
    headers: Object.entries(eventHeaders(event)) as [string, string][],
    msgID: event.eventId,
  }));
  const task = ctx.progress(`relay: raw confirmed publish → NATS (${events.length})`, events.length);
  const elapsed = stopwatch();
  const nc = await connectNats({ servers: url, timeout: 5000 });
  try {
    // The stream and a durable consumer configured as the NATS transport configures its own.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: names.stream,
      subjects: [`${names.subjectPrefix}.>`],
      storage: StorageType.File,
      duplicate_window: nanos(120_000),
    });
    await jsm.consumers.add(names.stream, {
      durable_name: 'bench-raw',
      ack_policy: AckPolicy.Explicit,
      filter_subject: `${names.subjectPrefix}.>`,
      ack_wait: nanos(30_000),
      max_deliver: -1,
      max_ack_pending: 1000,
    });
    const js = jetstream(nc);
    for (let i = 0; i < messages.length; i += RELAY_BATCH) {
      const batch = messages.slice(i, i + RELAY_BATCH);
      await Promise.all(
        batch.map((m) => {
          const h = natsHeaders();
          for (const [k, v] of m.headers) h.set(k, v);
          return js.publish(m.subject, m.body, { msgID: m.msgID, headers: h, timeout: 10_000 });
        }),
      );
      task.increment(batch.length);
    }
    const timing = elapsed();
    task.done();
    return timing;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** Wall time and this process's CPU time (user + system) of one measurement. */
interface Timing {
  ms: number;
  cpuMs: number;
}

function stopwatch(): () => Timing {
  const started = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
  };
}

/** Polls until `done()`; fails with `why()` after `timeoutMs`. */
async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, why: () => string, everyMs = 5) {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(why());
    await sleep(everyMs);
  }
}

/** Starts the project's relay (startDelivery, relay only, as `saga relay` does) and times it through `count` events. */
async function relayRun(
  ctx: ScenarioContext,
  db: BenchDatabase,
  kind: Broker,
  names: BrokerNames,
  sink: ConsumerDefinition,
  last: RawEvent,
  count: number,
  /** Batches in flight; the relay's default (2) when absent. */
  pipelineDepth?: number,
): Promise<Timing> {
  const depth =
    pipelineDepth === undefined ? '' : `, ${pipelineDepth} batch${pipelineDepth === 1 ? '' : 'es'} in flight`;
  const task = ctx.progress(
    `relay: saga relay → ${kind === 'rabbitmq' ? 'RabbitMQ' : 'NATS'} (${count}${depth})`,
    count,
  );
  const elapsed = stopwatch();
  const delivery = await startDelivery({
    pool: db.pool,
    connectionString: db.url,
    transport: settingsFor(ctx, kind, names),
    consumers: [],
    relay: true,
    topology: [sink],
    logger: createLogger('warn'),
    relayPipelineDepth: pipelineDepth,
  });
  let timing: Timing;
  try {
    const relay = delivery.relay!;
    let shown = 0;
    await until(
      () => {
        if (relay.published > shown) task.increment(relay.published - shown);
        shown = relay.published;
        return relay.published >= count;
      },
      Math.max(120_000, count * 10),
      () => `relay bench: the ${kind} relay published ${relay.published}/${count} (last error: ${relay.lastError})`,
    );
    timing = elapsed();
    task.done();
  } finally {
    await delivery.stop();
  }
  const checkpoint = await peekCheckpoint(db.pool, relaySubscriber(kind));
  const end = positionOf(last);
  if (checkpoint.transactionId !== end.transactionId || checkpoint.globalPosition !== end.globalPosition) {
    throw new Error(
      `relay bench: ${kind} relay checkpoint ${JSON.stringify(checkpoint)} is not at ${JSON.stringify(end)}`,
    );
  }
  return timing;
}

/** VmHWM (peak resident set) of a process, in MiB; undefined where /proc is not there. */
function peakRssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Whether anything of the default `saga relay` names already exists on the broker (someone else's). */
async function defaultRabbitNamesInUse(url: string): Promise<string | undefined> {
  const connection = await amqp.connect(url);
  connection.on('error', () => undefined);
  try {
    const probe = async (what: string, check: (ch: amqp.Channel) => Promise<unknown>) => {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        await check(channel);
        return what;
      } catch {
        return undefined;
      } finally {
        await channel.close().catch(() => undefined);
      }
    };
    const found = [await probe(`exchange ${EXCHANGE}`, (ch) => ch.checkExchange(EXCHANGE))];
    for (const c of CONSUMERS) {
      for (let p = 0; p < c.partitions; p++) {
        const q = queueName(c.name, p);
        found.push(await probe(`queue ${q}`, (ch) => ch.checkQueue(q)));
      }
    }
    return found.filter(Boolean).join(', ') || undefined;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * `saga relay` (ctx.sagaCommand) with TRANSPORT=rabbitmq against the bench database,
 * re-publishing the whole backlog (its checkpoint reset); returns its VmHWM once its checkpoint
 * passed the last event, and the wall time from spawn (start-up included).
 */
async function relayProcessRss(
  ctx: ScenarioContext,
  db: BenchDatabase,
  url: string,
  last: RawEvent,
  count: number,
): Promise<{ rssMiB: number; ms: number } | { skipped: string }> {
  if (process.platform !== 'linux') return { skipped: 'no /proc on this platform' };
  const inUse = await defaultRabbitNamesInUse(url);
  if (inUse) {
    return {
      skipped: `the CLI relay publishes to the default names and ${inUse} already exist on the broker (someone else's); not disturbing them`,
    };
  }
  await db.pool.query('DELETE FROM subscription_checkpoints WHERE subscriber = $1', [relaySubscriber('rabbitmq')]);
  const task = ctx.progress(`relay: saga relay process → RabbitMQ (${count})`, count);
  const started = performance.now();
  const [command, ...prefix] = ctx.sagaCommand;
  const child = spawn(command, [...prefix, 'relay'], {
    cwd: REPO,
    env: { ...process.env, DATABASE_URL: db.url, TRANSPORT: 'rabbitmq', AMQP_URL: url, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const end = positionOf(last);
  try {
    let shown = 0;
    await until(
      async () => {
        if (exitCode !== undefined) throw new Error(`relay bench: saga relay exited (${exitCode}): ${stderr.trim()}`);
        const at = await peekCheckpoint(db.pool, relaySubscriber('rabbitmq'));
        const reached = (
          await db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM events WHERE (transaction_id, global_position) <= ($1::xid8, $2::bigint)`,
            [at.transactionId, at.globalPosition],
          )
        ).rows[0]!.n;
        if (reached > shown) task.increment(reached - shown);
        shown = reached;
        return at.transactionId === end.transactionId && at.globalPosition === end.globalPosition;
      },
      Math.max(120_000, count * 10),
      () => `relay bench: saga relay did not reach the end of the log: ${stderr.trim()}`,
      200,
    );
    const ms = performance.now() - started;
    task.done();
    const rssMiB = peakRssMiB(child.pid!);
    if (rssMiB === undefined) return { skipped: `could not read /proc/${child.pid}/status` };
    return { rssMiB, ms };
  } finally {
    if (exitCode === undefined) {
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(10_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        ctx.log('relay bench: saga relay did not stop within 10 s of SIGTERM; killed');
      }
    }
    // Everything the CLI relay declared under the default names (they did not exist before).
    await removeBrokerResources('rabbitmq', url, CLI_NAMES, CONSUMERS);
  }
}

interface ThroughputResult {
  figures: Figure[];
  ratios: Ratio[];
  notes: string[];
}

async function throughput(ctx: ScenarioContext, brokers: Broker[]): Promise<ThroughputResult> {
  const count = Math.max(MIN_THROUGHPUT_EVENTS, Math.round(THROUGHPUT_EVENTS * ctx.scale));
  const result: ThroughputResult = { figures: [], ratios: [], notes: [] };
  const templates = loadTemplates();
  const db = await ctx.database('relay_throughput');
  try {
    await appendBacklog(ctx, db.pool, templates, count);
    const { events, readMs, batches } = await readAll(db.pool, count);
    const last = events.at(-1)!;
    const encodeStarted = performance.now();
    let bytes = 0;
    for (const e of events) {
      bytes += encodeEvent(e).length;
      eventHeaders(e);
    }
    const encodeMs = performance.now() - encodeStarted;
    result.notes.push(
      `Throughput: ${count} events (${LIFECYCLE.length}-event order streams, newest-version fixtures, ` +
        `mean body ${Math.round(bytes / count)} B) pre-appended, then the relay (startDelivery, relay only, ` +
        `batches of ${RELAY_BATCH}) timed from start until its checkpoint passed the last event; ` +
        `broker connect and declarations count on both sides. Reading the log alone in batches of ${RELAY_BATCH} ` +
        `took ${readMs.toFixed(0)} ms (${batches} batches, ${perSecond(count, readMs).toFixed(0)} events/s); ` +
        `encoding their bodies and headers alone ${encodeMs.toFixed(0)} ms. The baselines get the bodies ` +
        `encoded before their clock starts (they publish; the relay reads, encodes, publishes, checkpoints).`,
    );
    const sink = sinkConsumer('bench-sink');
    const sink4 = sinkConsumer('bench-sink4', undefined, 4);
    for (const kind of brokers) {
      const url = kind === 'rabbitmq' ? ctx.amqpUrl! : ctx.natsUrl!;
      const label = kind === 'rabbitmq' ? 'RabbitMQ' : 'NATS';
      const relayNames = isolatedNames('relay');
      const rawNames = isolatedNames('raw');
      try {
        const raw =
          kind === 'rabbitmq'
            ? await rawPublishRabbit(ctx, url, rawNames, events)
            : await rawPublishNats(ctx, url, rawNames, events);
        // The relay with two batches in flight (the next read and sent while the broker confirms
        // the last) and with one (read, publish, confirm, checkpoint, then the next), alternated
        // on fresh queues; the faster of each counts, so a run disturbed by the machine does not
        // decide. The relay's own figure is the transport's default depth (RabbitMQ 2, NATS 1).
        const fastest = new Map<number, Timing>();
        for (let round = 0; round < PIPELINE_ROUNDS; round++) {
          for (const depth of [1, 2]) {
            const names = round === 0 && depth === DEFAULT_DEPTH[kind] ? relayNames : isolatedNames('relayab');
            try {
              await db.pool.query('DELETE FROM subscription_checkpoints WHERE subscriber = $1', [
                relaySubscriber(kind),
              ]);
              const t = await relayRun(ctx, db, kind, names, sink, last, count, depth);
              const best = fastest.get(depth);
              if (!best || t.ms < best.ms) fastest.set(depth, t);
            } finally {
              if (names !== relayNames) {
                await removeBrokerResources(kind, url, names, [sink]).catch((err: unknown) =>
                  ctx.log(`relay bench: cleaning up ${label} failed: ${(err as Error).message}`),
                );
              }
            }
          }
        }
        const serial = fastest.get(1)!;
        const pipelined = fastest.get(2)!;
        const relay = fastest.get(DEFAULT_DEPTH[kind])!;
        const busy = (t: Timing) => `${((100 * t.cpuMs) / t.ms).toFixed(0)}% of a core in Node`;
        const relayRate = perSecond(count, relay.ms);
        const rawRate = perSecond(count, raw.ms);
        result.figures.push(
          { scenario: 'relay', name: `relay events/s (${kind})`, value: relayRate, unit: 'events/s' },
          { scenario: 'relay', name: `raw confirmed publish msgs/s (${kind})`, value: rawRate, unit: 'msgs/s' },
        );
        result.ratios.push({
          name: `relay-vs-raw-publish-${kind}`,
          value: relayRate / rawRate,
          target: 0.9,
          unit: 'x',
          whenMissed:
            `the relay took ${(relay.ms - raw.ms).toFixed(0)} ms more than publishing alone (${relay.ms.toFixed(0)} vs ` +
            `${raw.ms.toFixed(0)} ms); reading the same batches alone takes ~${readMs.toFixed(0)} ms and encoding ` +
            `them ~${encodeMs.toFixed(0)} ms, all on the relay's one Node thread (${busy(relay)}). With ` +
            `${DEFAULT_DEPTH[kind]} batch(es) in flight the read and encoding overlap the broker's confirms only ` +
            `while the broker is slower than they are: what would close it is encoding off that thread or a ` +
            `cheaper encoding, not more batches in flight.`,
          baseline:
            kind === 'rabbitmq'
              ? `amqplib ConfirmChannel, persistent, waitForConfirms per ${RELAY_BATCH}, same bodies/headers, quorum queue`
              : `JetStream publish, ${RELAY_BATCH} in flight per batch, every PubAck awaited, same bodies/headers, file stream`,
        });
        const serialRate = perSecond(count, serial.ms);
        const pipelinedRate = perSecond(count, pipelined.ms);
        result.figures.push(
          {
            scenario: 'relay',
            name: `relay events/s, one batch at a time (${kind})`,
            value: serialRate,
            unit: 'events/s',
          },
          {
            scenario: 'relay',
            name: `relay events/s, two batches in flight (${kind})`,
            value: pipelinedRate,
            unit: 'events/s',
          },
        );
        if (DEFAULT_DEPTH[kind] > 1) {
          result.ratios.push({
            name: `relay-pipelined-vs-serial-${kind}`,
            value: pipelinedRate / serialRate,
            target: 1,
            unit: 'x',
            baseline: `the same relay with one batch in flight (${serialRate.toFixed(0)} events/s)`,
          });
        }
        result.notes.push(
          `${label}: relay ${relay.ms.toFixed(0)} ms (${relayRate.toFixed(0)} events/s, ${DEFAULT_DEPTH[kind]} ` +
            `batch(es) in flight, ${busy(relay)}), raw publish ${raw.ms.toFixed(0)} ms (${rawRate.toFixed(0)} msgs/s, ` +
            `${busy(raw)}): the relay took ${(relay.ms - raw.ms).toFixed(0)} ms more than publishing alone; reading the ` +
            `same batches alone takes ~${readMs.toFixed(0)} ms. Two batches in flight: ${pipelinedRate.toFixed(0)} ` +
            `events/s (${busy(pipelined)}); one at a time: ${serialRate.toFixed(0)} events/s (${busy(serial)}); ` +
            `each the faster of ${PIPELINE_ROUNDS} alternated runs.`,
        );
        // The same backlog relayed to a consumer of four partitions: each partition's queue or
        // durable takes only its own buckets, so the broker stores each event once, not four times.
        const partitionedNames = isolatedNames('relay4');
        try {
          // The faster of as many runs as the one-partition figure had (each on fresh queues).
          let four: Timing | undefined;
          for (let round = 0; round < PIPELINE_ROUNDS; round++) {
            if (round > 0) await removeBrokerResources(kind, url, partitionedNames, [sink4]);
            await db.pool.query('DELETE FROM subscription_checkpoints WHERE subscriber = $1', [relaySubscriber(kind)]);
            const t = await relayRun(ctx, db, kind, partitionedNames, sink4, last, count);
            four = four && four.ms <= t.ms ? four : t;
          }
          if (!four) throw new Error('relay bench: no four-partition run');
          const fourRate = perSecond(count, four.ms);
          result.figures.push({
            scenario: 'relay',
            name: `relay events/s, 4 partitions (${kind})`,
            value: fourRate,
            unit: 'events/s',
          });
          result.ratios.push({
            name: `relay-4-vs-1-partitions-${kind}`,
            value: fourRate / relayRate,
            target: 0.9,
            unit: 'x',
            baseline: `the same relay and backlog to a one-partition consumer (${relayRate.toFixed(0)} events/s)`,
          });
          if (kind === 'rabbitmq') {
            // What the broker itself pays for four queues: the hand-written publisher, the same
            // bodies and batches, into four quorum queues bound by bucket.
            const rawFourNames = isolatedNames('raw4');
            try {
              const rawFour = await rawPublishRabbit(ctx, url, rawFourNames, events, 4);
              const rawFourRatio = raw.ms / rawFour.ms;
              result.figures.push({
                scenario: 'relay',
                name: 'raw confirmed publish msgs/s, 4 queues (rabbitmq)',
                value: perSecond(count, rawFour.ms),
                unit: 'msgs/s',
              });
              result.notes.push(
                `RabbitMQ, four partitions: the relay reached ${(fourRate / relayRate).toFixed(2)}× its one-partition ` +
                  `rate; the hand-written confirmed publisher, into four quorum queues bound the same way, ` +
                  `${rawFourRatio.toFixed(2)}× its one-queue rate: the part of the drop that is the broker's own ` +
                  `(a batch's confirms wait for every queue it touched).`,
              );
            } finally {
              await removeBrokerResources(
                kind,
                url,
                rawFourNames,
                [],
                [0, 1, 2, 3].map((p) => rawQueue(rawFourNames, p)),
              ).catch((err: unknown) => ctx.log(`relay bench: cleaning up ${label} failed: ${(err as Error).message}`));
            }
          }
        } finally {
          await removeBrokerResources(kind, url, partitionedNames, [sink4]).catch((err: unknown) =>
            ctx.log(`relay bench: cleaning up ${label} failed: ${(err as Error).message}`),
          );
        }
        if (kind === 'rabbitmq') {
          // Optional: a failure here is reported, not fatal to the scenario.
          const rss = await relayProcessRss(ctx, db, url, last, count).catch((err: unknown) => ({
            skipped: `the relay process failed: ${(err as Error).message}`,
          }));
          if ('skipped' in rss) {
            result.notes.push(`Relay peak RSS skipped: ${rss.skipped}.`);
          } else {
            result.figures.push({
              scenario: 'relay',
              name: 'relay peak RSS (rabbitmq)',
              value: rss.rssMiB,
              unit: 'MiB',
            });
            result.notes.push(
              `Relay peak RSS: VmHWM of \`${ctx.sagaCommand.slice(1).join(' ')} relay\` (TRANSPORT=rabbitmq, default ` +
                `names, checkpoint reset so it re-published all ${count} events) = ${rss.rssMiB.toFixed(0)} MiB; it ` +
                `took ${rss.ms.toFixed(0)} ms from spawn (start-up and the CLI's imports included).`,
            );
          }
        }
      } finally {
        await removeBrokerResources(kind, url, relayNames, [sink]).catch((err: unknown) =>
          ctx.log(`relay bench: cleaning up ${label} failed: ${(err as Error).message}`),
        );
        await removeBrokerResources(kind, url, rawNames, [], [`${rawNames.queuePrefix}.raw`]).catch((err: unknown) =>
          ctx.log(`relay bench: cleaning up ${label} failed: ${(err as Error).message}`),
        );
      }
    }
  } finally {
    await db.drop();
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// 2. Commit-to-consumer latency

interface LatencyResult {
  samples: number[];
  /** Broker transports: commit → the relay's checkpoint passed the event (broker confirmed), per event. */
  relayLeg: number[];
  offeredMs: number;
  cluster: ClusterActivity;
}

/** Transactions of other databases that held an xid while we measured (each holds every reader back). */
interface ClusterActivity {
  samples: number;
  withOthers: number;
  oldestMs: number;
  /** `database/application` of the holders seen. */
  holders: Set<string>;
}

const OTHER_XID_HOLDERS = `SELECT count(*)::int AS n,
    coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)) * 1000, 0)::float AS oldest_ms,
    coalesce(array_agg(DISTINCT coalesce(datname, '?') || '/' || coalesce(nullif(application_name, ''), backend_type))
      FILTER (WHERE datname IS NOT NULL OR backend_type IS NOT NULL), '{}') AS holders
  FROM pg_stat_activity
  WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()`;

/** Samples other databases' xid-holding transactions every 100 ms until the returned function is called. */
function watchCluster(pool: Pool): () => Promise<ClusterActivity> {
  const activity: ClusterActivity = { samples: 0, withOthers: 0, oldestMs: 0, holders: new Set() };
  let running = true;
  const loop = (async () => {
    while (running) {
      const row = (await pool.query<{ n: number; oldest_ms: number; holders: string[] }>(OTHER_XID_HOLDERS)).rows[0]!;
      activity.samples++;
      for (const h of row.holders) activity.holders.add(h);
      if (row.n > 0) activity.withOthers++;
      activity.oldestMs = Math.max(activity.oldestMs, row.oldest_ms);
      await sleep(100);
    }
  })();
  return async () => {
    running = false;
    await loop;
    return activity;
  };
}

/**
 * Delivery (relay where the transport needs one, and one consumer) in this process, as
 * `npm start` runs it; events appended one per transaction on a fixed schedule. Latency is
 * the consumer's handle() time minus the moment the append's COMMIT returned.
 */
async function latencyRun(
  ctx: ScenarioContext,
  kind: TransportSettings['kind'],
  count: number,
): Promise<LatencyResult> {
  const templates = loadTemplates();
  const commitAt = new Map<string, number>();
  const handledAt = new Map<string, number>();
  const measured = new Set<string>();
  const task = ctx.progress(`relay: commit → consumer via ${kind} (${count} at ${OFFERED_PER_SECOND}/s)`, count);
  const consumer = sinkConsumer('bench-latency', async (event) => {
    if (handledAt.has(event.eventId)) return;
    handledAt.set(event.eventId, performance.now());
    if (measured.has(event.eventId)) task.increment();
  });
  const names = kind === 'postgres' ? undefined : isolatedNames('latency');
  const db = await ctx.database(`relay_latency_${kind}`);
  let delivery: Delivery | undefined;
  let relayWatch: NodeJS.Timeout | undefined;
  try {
    delivery = await startDelivery({
      pool: db.pool,
      connectionString: db.url,
      transport: settingsFor(ctx, kind, names),
      consumers: [consumer],
      relay: kind !== 'postgres',
      topology: [consumer],
      logger: createLogger('warn'),
      intervals: { pollMs: LATENCY_POLL_MS },
    });
    const d = delivery;
    // The relay's progress over time (it publishes in commit order): when each event was confirmed.
    const confirmed: { at: number; count: number }[] = [];
    relayWatch = d.relay
      ? setInterval(() => {
          const count = d.relay!.published;
          if (count !== confirmed.at(-1)?.count) confirmed.push({ at: performance.now(), count });
        }, 1)
      : undefined;
    const commitOrder: string[] = [];
    let n = 0;
    const appendOne = async (ids: Set<string> | undefined) => {
      const template = templates[n++ % templates.length]!;
      const orderId = randomUUID();
      const event = eventOf(template, orderId, randomUUID());
      ids?.add(event.eventId!);
      await withTransaction(db.pool, (tx) => appendToStream(tx, `order-${orderId}`, 0, [event]));
      commitAt.set(event.eventId!, performance.now());
      commitOrder.push(event.eventId!);
      return event.eventId!;
    };
    const offer = async (total: number, ids?: Set<string>) => {
      const interval = 1000 / OFFERED_PER_SECOND;
      const inflight: Promise<string>[] = [];
      const started = performance.now();
      for (let i = 0; i < total; i++) {
        const wait = started + i * interval - performance.now();
        if (wait > 0) await sleep(wait);
        inflight.push(appendOne(ids));
      }
      const appended = await Promise.all(inflight);
      return { appended, ms: performance.now() - started };
    };
    const allHandled = (ids: readonly string[], what: string) =>
      until(
        () => ids.every((id) => handledAt.has(id)),
        30_000 + ids.length * 10,
        () =>
          `relay bench: ${ids.filter((id) => !handledAt.has(id)).length}/${ids.length} ${what} events never reached ` +
          `the consumer via ${kind} (relay: ${d.relay?.role ?? 'none'}, last error: ${d.relay?.lastError ?? 'none'})`,
      );
    // Warm-up: connections open, partitions claimed, queues declared, code paths hot.
    const warm = await offer(WARMUP_EVENTS);
    await allHandled(warm.appended, 'warm-up');
    const watching = watchCluster(db.pool);
    const run = await offer(count, measured);
    await allHandled(run.appended, 'measured');
    const cluster = await watching();
    clearInterval(relayWatch);
    task.done();
    const rank = new Map(commitOrder.map((id, i) => [id, i]));
    const confirmedAt = (id: string) => confirmed.find((c) => c.count > rank.get(id)!)?.at ?? Number.NaN;
    return {
      samples: run.appended.map((id) => handledAt.get(id)! - commitAt.get(id)!),
      relayLeg: d.relay ? run.appended.map((id) => confirmedAt(id) - commitAt.get(id)!) : [],
      offeredMs: run.ms,
      cluster,
    };
  } finally {
    clearInterval(relayWatch);
    await delivery?.stop();
    if (names) {
      const url = kind === 'rabbitmq' ? ctx.amqpUrl! : ctx.natsUrl!;
      await removeBrokerResources(kind as Broker, url, names, [consumer]).catch((err: unknown) =>
        ctx.log(`relay bench: cleaning up ${kind} failed: ${(err as Error).message}`),
      );
    }
    await db.drop();
  }
}

async function latency(ctx: ScenarioContext, brokers: Broker[]): Promise<ThroughputResult> {
  const count = Math.max(MIN_LATENCY_EVENTS, Math.round(LATENCY_EVENTS * ctx.scale));
  const result: ThroughputResult = { figures: [], ratios: [], notes: [] };
  result.notes.push(
    `Latency: ${WARMUP_EVENTS} warm-up then ${count} events appended one per transaction (each its own order ` +
      `stream) at an offered ${OFFERED_PER_SECOND} events/s; latency = the consumer's handle() (inside its inbox ` +
      `transaction, before that commit) minus the moment the append's COMMIT returned. Delivery runs in the bench ` +
      `process as npm start runs it, with the poll interval set to ${LATENCY_POLL_MS} ms, so every wake-up that ` +
      `is not seconds late came from NOTIFY.`,
  );
  for (const kind of ['postgres', ...brokers] as const) {
    const { samples, relayLeg, offeredMs, cluster } = await latencyRun(ctx, kind, count);
    const p50 = quantile(samples, 0.5);
    const p99 = quantile(samples, 0.99);
    const max = Math.max(...samples);
    const slow = samples.filter((v) => v >= LATENCY_POLL_MS * 0.5).length;
    result.figures.push(
      { scenario: 'relay', name: `commit-to-consumer p50 (${kind})`, value: p50, unit: 'ms' },
      { scenario: 'relay', name: `commit-to-consumer p99 (${kind})`, value: p99, unit: 'ms' },
      { scenario: 'relay', name: `commit-to-consumer max (${kind})`, value: max, unit: 'ms' },
    );
    const legs = relayLeg.length
      ? `; relay side, commit → its checkpoint moved past the event (after the broker's confirm, so the ` +
        `consumer may already have it; 1 ms polling): p50 ` +
        `${quantile(relayLeg, 0.5).toFixed(1)} ms, p99 ${quantile(relayLeg, 0.99).toFixed(1)} ms, max ` +
        `${Math.max(...relayLeg).toFixed(1)} ms`
      : '';
    result.notes.push(
      `${kind}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms${legs} ` +
        `(achieved offered rate ${perSecond(count, offeredMs).toFixed(0)} events/s; ${samples.filter((v) => v > 10).length} ` +
        `over 10 ms; other databases' transactions held an xid in ${cluster.withOthers}/${cluster.samples} samples, ` +
        `the oldest ${cluster.oldestMs.toFixed(0)} ms${cluster.holders.size ? ` (${[...cluster.holders].slice(0, 4).join(', ')})` : ''}; load average ${os.loadavg()[0]!.toFixed(1)}` +
        `${
          slow > 0
            ? `; ${slow} waited about the ${LATENCY_POLL_MS} ms poll: nothing woke the reader once they were ` +
              `readable (e.g. a transaction without events elsewhere on the cluster held them back past their own ` +
              `NOTIFY) or a broker stalled`
            : ''
        }).`,
    );
    if (kind === 'postgres') {
      result.ratios.push({
        name: 'commit-to-consumer-p99-postgres',
        value: p99,
        target: 50,
        unit: 'ms',
        comparison: '<=',
        baseline: `bound; ${OFFERED_PER_SECOND} events/s offered, one per transaction, NOTIFY-woken`,
      });
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------

/** The brokers this run can measure; without a URL a broker is skipped, except under CI=true. */
function availableBrokers(ctx: ScenarioContext, notes: string[]): Broker[] {
  const brokers: Broker[] = [];
  for (const [kind, url, variable] of [
    ['rabbitmq', ctx.amqpUrl, 'AMQP_URL'],
    ['nats', ctx.natsUrl, 'NATS_URL'],
  ] as const) {
    if (url) {
      brokers.push(kind);
    } else if (process.env.CI === 'true') {
      throw new Error(`relay bench: ${variable} is not set; CI=true requires the ${kind} measurements`);
    } else {
      notes.push(
        `${kind} skipped: ${variable} is not set (no relay-vs-raw-publish-${kind} ratio, no ${kind} latency).`,
      );
    }
  }
  return brokers;
}

export const relayScenario: Scenario = {
  name: 'relay',
  title: 'Relay throughput vs raw confirmed publish; commit-to-consumer latency',
  async run(ctx: ScenarioContext): Promise<ScenarioResult> {
    const notes: string[] = [];
    const brokers = availableBrokers(ctx, notes);
    const t = brokers.length
      ? await throughput(ctx, brokers)
      : { figures: [], ratios: [], notes: ['Throughput skipped: no broker URL.'] };
    const l = await latency(ctx, brokers);
    return {
      ratios: [...t.ratios, ...l.ratios],
      figures: [...t.figures, ...l.figures],
      notes: [...notes, ...t.notes, ...l.notes],
    };
  },
};
