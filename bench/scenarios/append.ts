import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getPostgreSQLEventStore, messagesTable, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import { appendToStream, currentStreamVersion, type NewEvent } from '../../src/store/event-store';
import { withTransaction, type Pool } from '../../src/store/pool';
import {
  perSecond,
  runConcurrently,
  type BenchDatabase,
  type Figure,
  type Ratio,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
} from '../harness';
import { describeBound, mergeCpu, sampleCpu, type CpuSample } from './cpu';
import { meanEventBytes, orderStory, toNewEvents } from './order-stories';

/**
 * Appends through our event store (the production path: one transaction per append, at the
 * expected version) next to Emmett's PostgreSQL event store and a raw single-row INSERT
 * (each one a commit: the fsync limit), all at the same concurrency on the same server.
 */

const LANES = 8;
const BATCH = 10;

/** Figures this scenario leaves in `ctx.shared` for later ones (the projection scenario's fallback). */
export const APPEND_SHARED = { singleEventsPerSecond: 'appendSingleEventsPerSecond' } as const;

/** Order streams with the version each stands at; a stream is held by one lane at a time. */
class Streams {
  private readonly ids: string[] = [];
  private readonly versions: number[] = [];
  private readonly busy: boolean[] = [];
  private readonly stories: NewEvent[][] = [];

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const orderId = randomUUID();
      this.ids.push(`order-${orderId}`);
      this.versions.push(0);
      this.busy.push(false);
      // The complete order's events (validated, with activity metadata); appends cycle through them.
      this.stories.push(toNewEvents(orderId, orderStory(orderId, 'confirmed', i)));
    }
  }

  /** Runs `append` on a random free stream with its next `n` events; the stream's version moves on by `n`. */
  async with(n: number, append: (streamId: string, version: number, events: NewEvent[]) => Promise<void>) {
    let i = Math.floor(Math.random() * this.ids.length);
    while (this.busy[i]) i = (i + 1) % this.ids.length;
    this.busy[i] = true;
    try {
      const version = this.versions[i]!;
      const story = this.stories[i]!;
      const events = Array.from({ length: n }, (_, k) => story[(version + k) % story.length]!);
      await append(this.ids[i]!, version, events);
      this.versions[i] = version + n;
    } finally {
      this.busy[i] = false;
    }
  }

  sample(): NewEvent[] {
    return this.stories.flat();
  }
}

/** Our production path: one transaction (withTransaction) per append, at the tracked expected version. */
const appendThroughStore = (pool: Pool, streams: Streams, n: number) =>
  streams.with(n, (streamId, version, events) =>
    withTransaction(pool, async (tx) => {
      await appendToStream(tx, streamId, version, events);
    }),
  );

/**
 * Our single-event append rate at the scenario's concurrency on `db` (for scenarios that need
 * it as a fallback baseline when the append scenario did not run): warm-up, then `units` appends.
 */
export async function measureSingleAppendRate(
  ctx: ScenarioContext,
  db: BenchDatabase,
  units: number,
  label: string,
): Promise<{ eventsPerSecond: number; units: number; lanes: number; ms: number }> {
  const streams = new Streams(Math.max(8 * LANES, Math.ceil(units / 6)));
  await runConcurrently(2 * LANES, LANES, () => appendThroughStore(db.pool, streams, 1));
  const bar = ctx.progress(label, units);
  const started = performance.now();
  await runConcurrently(
    units,
    LANES,
    () => appendThroughStore(db.pool, streams, 1),
    () => bar.increment(),
  );
  const ms = performance.now() - started;
  bar.done();
  return { eventsPerSecond: perSecond(units, ms), units, lanes: LANES, ms };
}

interface Variant {
  key: string;
  label: string;
  /** Events per unit of work (one call / one transaction). */
  eventsPerUnit: number;
  units: number;
  unit(): Promise<void>;
  // Filled in while measuring.
  done: number;
  ms: number;
  cpu: { cpu: CpuSample; ms: number }[];
}

const rate = (v: Variant): number => (v.ms > 0 ? perSecond(v.done * v.eventsPerUnit, v.ms) : 0);
const ratioOf = (a: number, b: number): number => (b > 0 ? a / b : 0);

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const singles = Math.max(3 * LANES, Math.round(12000 * ctx.scale));
  const batches = Math.max(2 * LANES, Math.round(2000 * ctx.scale));
  const rounds = ctx.scale >= 0.5 ? 3 : ctx.scale >= 0.1 ? 2 : 1;
  const streamsFor = (events: number) => Math.max(8 * LANES, Math.ceil(events / 6));

  const databases: BenchDatabase[] = [];
  let emmett: PostgresEventStore | undefined;
  try {
    const ours = await ctx.database('append_ours');
    databases.push(ours);
    const theirs = await ctx.database('append_emmett');
    databases.push(theirs);
    const raw = await ctx.database('append_raw');
    databases.push(raw);

    // Emmett's store (its own pool, its own tables on first use). Its driver layer sets pg's
    // global type parsers (int8 → BigInt, json through its serializer) when the pool is made;
    // every other scenario and our store rely on the defaults this process set, so restore them.
    const parsers = [20, 114, 3802].map((oid) => [oid, pg.types.getTypeParser(oid, 'text')] as const);
    emmett = getPostgreSQLEventStore(theirs.url);
    for (const [oid, parser] of parsers) pg.types.setTypeParser(oid, 'text', parser);
    await emmett.schema.migrate();
    const emmettStore = emmett;

    await raw.pool.query(`CREATE TABLE bench_raw_events (
      id bigserial PRIMARY KEY, stream_id text NOT NULL, event_type text NOT NULL,
      payload jsonb NOT NULL, metadata jsonb NOT NULL)`);

    const streams = {
      oursSingle: new Streams(streamsFor(singles)),
      oursRead: new Streams(streamsFor(singles)),
      emmettSingle: new Streams(streamsFor(singles)),
      oursBatch: new Streams(streamsFor(batches * BATCH)),
      emmettBatch: new Streams(streamsFor(batches * BATCH)),
      raw: new Streams(streamsFor(singles)),
      rawAutocommit: new Streams(streamsFor(singles)),
    };

    const ourAppend = (s: Streams, n: number) => appendThroughStore(ours.pool, s, n);
    const ourReadThenAppend = (s: Streams) =>
      s.with(1, (streamId, _version, events) =>
        withTransaction(ours.pool, async (tx) => {
          await appendToStream(tx, streamId, await currentStreamVersion(tx, streamId), events);
        }),
      );
    type EmmettEvents = Parameters<PostgresEventStore['appendToStream']>[1];
    const emmettAppend = (s: Streams, n: number) =>
      s.with(n, async (streamId, version, events) => {
        const batch = events.map((e) => ({ type: e.eventType, data: e.payload, metadata: e.metadata }));
        await emmettStore.appendToStream(streamId, batch as EmmettEvents, { expectedStreamVersion: BigInt(version) });
      });
    const RAW_INSERT =
      'INSERT INTO bench_raw_events (stream_id, event_type, payload, metadata) VALUES ($1, $2, $3, $4)';
    const rawParams = (streamId: string, e: NewEvent) => [
      streamId,
      e.eventType,
      JSON.stringify(e.payload),
      JSON.stringify(e.metadata ?? {}),
    ];
    // BEGIN; INSERT; COMMIT: one row, one commit, the same transaction framing as every append.
    const rawInsertTx = (s: Streams) =>
      s.with(1, (streamId, _version, events) =>
        withTransaction(raw.pool, async (tx) => {
          await tx.query(RAW_INSERT, rawParams(streamId, events[0]!));
        }),
      );
    // One autocommit statement: the floor of a committed write (one round trip, one WAL flush).
    const rawInsertAutocommit = (s: Streams) =>
      s.with(1, async (streamId, _version, events) => {
        await raw.pool.query(RAW_INSERT, rawParams(streamId, events[0]!));
      });

    const variant = (key: string, label: string, eventsPerUnit: number, units: number, unit: () => Promise<void>) =>
      ({ key, label, eventsPerUnit, units, unit, done: 0, ms: 0, cpu: [] }) satisfies Variant as Variant;
    const variants: Variant[] = [
      variant('ours-single', 'ours, 1 event per transaction', 1, singles, () => ourAppend(streams.oursSingle, 1)),
      variant('emmett-single', 'Emmett, 1 event per append', 1, singles, () => emmettAppend(streams.emmettSingle, 1)),
      variant('raw-insert', 'raw single-row BEGIN; INSERT; COMMIT', 1, singles, () => rawInsertTx(streams.raw)),
      variant('raw-autocommit', 'raw single-row INSERT (autocommit)', 1, singles, () =>
        rawInsertAutocommit(streams.rawAutocommit),
      ),
      variant('ours-batched', `ours, ${BATCH} events per transaction`, BATCH, batches, () =>
        ourAppend(streams.oursBatch, BATCH),
      ),
      variant('emmett-batched', `Emmett, ${BATCH} events per append`, BATCH, batches, () =>
        emmettAppend(streams.emmettBatch, BATCH),
      ),
      variant('ours-read-append', 'ours, read version + append in one transaction (as activities)', 1, singles, () =>
        ourReadThenAppend(streams.oursRead),
      ),
    ];

    // Warm-up (not timed): connections opened, plans cached, Emmett's first-use work done.
    for (const v of variants) await runConcurrently(2 * LANES, LANES, () => v.unit());

    const bars = new Map(variants.map((v) => [v.key, ctx.progress(`append: ${v.label}`, v.units)]));
    // Rounds, each variant in turn (order rotated): drift on the server (checkpoints, WAL
    // recycling, autovacuum) falls on every variant alike.
    for (let round = 0; round < rounds; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
      for (const v of order) {
        const units = round === rounds - 1 ? v.units - v.done : Math.floor(v.units / rounds);
        if (units <= 0) continue;
        const bar = bars.get(v.key)!;
        const stop = sampleCpu();
        const started = performance.now();
        await runConcurrently(
          units,
          LANES,
          () => v.unit(),
          () => bar.increment(),
        );
        const ms = performance.now() - started;
        v.cpu.push({ cpu: stop(), ms });
        v.ms += ms;
        v.done += units;
      }
    }
    for (const bar of bars.values()) bar.done();

    const by = (key: string) => variants.find((v) => v.key === key)!;
    const oursSingle = rate(by('ours-single'));
    const emmettSingle = rate(by('emmett-single'));
    const rawInsertRate = rate(by('raw-insert'));
    const rawAutocommitRate = rate(by('raw-autocommit'));
    const oursBatched = rate(by('ours-batched'));
    const emmettBatched = rate(by('emmett-batched'));
    const oursRead = rate(by('ours-read-append'));
    ctx.shared.set(APPEND_SHARED.singleEventsPerSecond, oursSingle);

    const bound = (key: string) => `${Math.round(rate(by(key)))}/s, ${describeBound(mergeCpu(by(key).cpu))}`;
    const ratios: Ratio[] = [
      {
        name: 'append-vs-emmett',
        whenMissed:
          `measured in this run: ours ${bound('ours-single')}; Emmett ${bound('emmett-single')}. ` +
          'Both are three round trips per append; ours maintains five indexes per row (position, event id, stream version, transaction order, correlation id) and wakes readers after commits. ' +
          'What would close it: one index fewer (the primary key on (transaction_id, global_position) in place of the transaction-order index, docs/performance.md), measured on a quiet machine.',
        value: ratioOf(oursSingle, emmettSingle),
        target: 1.5,
        unit: 'x',
        baseline: `Emmett PostgreSQL appendToStream, 1 event per append, ${LANES} lanes`,
      },
      {
        name: 'single-append-vs-raw-insert',
        whenMissed:
          `measured in this run: ours ${bound('ours-single')}; raw ${bound('raw-insert')}. ` +
          'The same three round trips; the gap is the server work per row (five indexes against one, about 400 bytes of JSON checked as jsonb) and the wake-up notifications (0.16–0.24 per append). ' +
          'What would close it: one index fewer (docs/performance.md); when CPU-bound, the other processes on the machine are part of the figure.',
        value: ratioOf(oursSingle, rawInsertRate),
        target: 0.8,
        unit: 'x',
        baseline: `raw single-row BEGIN; INSERT; COMMIT commits/s (plain table), ${LANES} lanes`,
      },
    ];
    const figure = (name: string, value: number, unit = 'events/s'): Figure => ({
      scenario: 'append',
      name,
      value,
      unit,
    });
    const figures: Figure[] = [
      figure('ours single-event appends', oursSingle),
      figure('Emmett single-event appends', emmettSingle),
      figure('raw INSERT commits (BEGIN; INSERT; COMMIT)', rawInsertRate, 'commits/s'),
      figure('raw INSERT commits (autocommit)', rawAutocommitRate, 'commits/s'),
      figure('single ours ÷ raw autocommit INSERT', ratioOf(oursSingle, rawAutocommitRate), 'x'),
      figure(`ours batched appends (${BATCH}/tx)`, oursBatched),
      figure(`Emmett batched appends (${BATCH}/append)`, emmettBatched),
      figure('batched ours ÷ Emmett', ratioOf(oursBatched, emmettBatched), 'x'),
      figure('ours read version + append (1/tx)', oursRead),
    ];
    // Every variant wrote what it was asked to (a wrong count would make its rate meaningless).
    const warm = 2 * LANES;
    const count = async (db: BenchDatabase, table: string) =>
      (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
    const checks = [
      { what: 'our events', got: await count(ours, 'events'), want: 2 * (warm + singles) + BATCH * (warm + batches) },
      {
        what: 'Emmett messages',
        got: await count(theirs, messagesTable.name),
        want: warm + singles + BATCH * (warm + batches),
      },
      { what: 'raw rows', got: await count(raw, 'bench_raw_events'), want: 2 * (warm + singles) },
    ];
    const wrong = checks.filter((c) => c.got !== c.want);
    const settings = (
      await ours.pool.query<{ name: string; setting: string }>(
        `SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'wal_sync_method', 'server_version')`,
      )
    ).rows
      .map((r) => `${r.name}=${r.setting}`)
      .join(', ');
    const sample = streams.oursSingle.sample();
    const notes = [
      `${LANES} concurrent lanes for every variant (one connection each); ${singles} single-event units and ${batches} batched calls (${BATCH} events) per variant, in ${rounds} round(s) with the order rotated; warm-up of ${2 * LANES} units each, not timed.`,
      `Events: the order saga's own (order.created … order.confirmed, validated against the catalog) with activity metadata, mean ${Math.round(meanEventBytes(sample))} bytes of JSON (payload + metadata); each to a random order stream no other lane holds, at the version the writer tracks (optimistic concurrency checked by both stores).`,
      `Ours: withTransaction + appendToStream (BEGIN, INSERT … unnest, COMMIT; then one pg_notify per event-loop turn, after the commit). Emmett ${emmettVersion()}: getPostgreSQLEventStore(url).appendToStream with expectedStreamVersion (BEGIN, SELECT emt_append_to_stream(…), COMMIT). Raw: a plain table with only a primary key, one row per transaction: BEGIN; INSERT; COMMIT for the ratio (the same transaction framing and commit per append as ours), and a single autocommit INSERT (one round trip: the floor of a committed write) as a figure.`,
      `Read + append (what an activity does before appending): currentStreamVersion inside the same transaction, one more round trip; a figure only.`,
      `Each database fresh (ctx.database), dropped after; same server (${settings}).`,
      wrong.length === 0
        ? `Rows written checked afterwards: ${checks.map((c) => `${c.got} ${c.what}`).join(', ')}, as expected.`
        : `WARNING: rows written do not match: ${wrong.map((c) => `${c.what} ${c.got}, expected ${c.want}`).join('; ')}.`,
      `What bounded each (machine figures include anything else running on the machine; 2 cores shared by node and PostgreSQL):`,
      ...variants.map((v) => `${v.label}: ${Math.round(rate(v))} events/s; ${describeBound(mergeCpu(v.cpu))}.`),
    ];
    return { ratios, figures, notes };
  } finally {
    await emmett?.close().catch(() => undefined);
    for (const db of databases) await db.drop().catch(() => undefined);
  }
}

/** The installed Emmett version (its package exports no package.json, so read it from the folder). */
function emmettVersion(): string {
  try {
    const dir = path.dirname(require.resolve('@event-driven-io/emmett-postgresql'));
    const pkg = JSON.parse(readFileSync(path.join(dir, '..', 'package.json'), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '(version unknown)';
  }
}

export const appendScenario: Scenario = {
  name: 'append',
  title: 'Event store appends vs Emmett (PostgreSQL) and raw INSERT commits',
  run,
};
