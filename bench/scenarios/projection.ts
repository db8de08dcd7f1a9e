import { randomUUID } from 'node:crypto';
import { rebuildOrderSummary, type RebuildResult } from '../../src/consumers/rebuild';
import { untilCommittedReadable } from '../../src/delivery/reader';
import { appendToStream } from '../../src/store/event-store';
import { withTransaction } from '../../src/store/pool';
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
import { APPEND_SHARED, measureSingleAppendRate } from './append';
import { describeBound, mergeCpu, sampleCpu, type CpuSample } from './cpu';
import { orderStory, storyKindOf, toNewEvents, type StoryKind } from './order-stories';

/**
 * The order-summary projection's rebuild rate (what `saga projections rebuild order-summary`
 * runs) over a realistic log: complete order streams, most confirmed, some cancelled after
 * compensating, appended through the event store. Compared with the rate sagas produce events
 * (the sagas scenario's figure): how much faster than real time a lost read model comes back.
 */

const FILL_LANES = 4;
const ORDERS_PER_FILL_TX = 25;

/** Fills `db` with `orders` complete order streams; returns the events appended and the mix. */
async function fill(ctx: ScenarioContext, db: BenchDatabase, orders: number) {
  const kinds = new Map<StoryKind, number>();
  let events = 0;
  const transactions = Math.ceil(orders / ORDERS_PER_FILL_TX);
  const bar = ctx.progress('projection: fill the log (order streams)', orders);
  await runConcurrently(transactions, FILL_LANES, async (t) => {
    const first = t * ORDERS_PER_FILL_TX;
    const last = Math.min(orders, first + ORDERS_PER_FILL_TX);
    await withTransaction(db.pool, async (tx) => {
      for (let n = first; n < last; n++) {
        const orderId = randomUUID();
        const kind = storyKindOf(n);
        const appended = await appendToStream(
          tx,
          `order-${orderId}`,
          0,
          toNewEvents(orderId, orderStory(orderId, kind, n)),
        );
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        events += appended.length;
      }
    });
    bar.increment(last - first);
  });
  bar.done();
  // A log that has been around: autovacuum would have visited it (hint bits, statistics).
  await db.pool.query('VACUUM (ANALYZE) events');
  // The rebuild reads in commit order: the whole log, not what a transaction elsewhere on the
  // server (a busy machine's other work) still holds back.
  await untilCommittedReadable(db.pool);
  return { events, kinds };
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const orders = Math.max(20, Math.round(10000 * ctx.scale));
  const repeats = ctx.scale >= 0.1 ? 2 : 1;
  const databases: BenchDatabase[] = [];
  try {
    const db = await ctx.database('projection');
    databases.push(db);
    const filled = await fill(ctx, db, orders);

    // The rebuild, as the CLI runs it (default batch size); repeated on the same log.
    const runs: { result: RebuildResult; ms: number; cpu: CpuSample }[] = [];
    for (let r = 0; r < repeats; r++) {
      const bar = ctx.progress(
        `projection: rebuild order-summary${repeats > 1 ? ` (${r + 1}/${repeats})` : ''}`,
        filled.events,
      );
      let shown = 0;
      const stop = sampleCpu();
      const started = performance.now();
      const result = await rebuildOrderSummary(db.pool, {
        onProgress: (done) => {
          bar.increment(done - shown);
          shown = done;
        },
      });
      const ms = performance.now() - started;
      runs.push({ result, ms, cpu: stop() });
      bar.done();
    }
    const events = runs.reduce((s, x) => s + x.result.events, 0);
    const ms = runs.reduce((s, x) => s + x.ms, 0);
    const rebuildRate = perSecond(events, ms);
    const last = runs.at(-1)!.result;
    const statuses = await db.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM order_summary GROUP BY status ORDER BY status',
    );

    // What the rebuild rate is compared with: the rate sagas produce events, else a stand-in.
    const notes: string[] = [];
    let baselineRate: number;
    let baseline: string;
    const sagaRate = ctx.shared.get('sagaEventsPerSecond');
    const appendRate = ctx.shared.get(APPEND_SHARED.singleEventsPerSecond);
    if (sagaRate !== undefined && sagaRate > 0) {
      baselineRate = sagaRate;
      baseline = `events/s sagas produced end to end (sagas scenario, this run: ${sagaRate.toFixed(1)} events/s)`;
    } else if (appendRate !== undefined && appendRate > 0) {
      baselineRate = appendRate;
      baseline = `our single-event append rate (append scenario, this run: ${Math.round(appendRate)} events/s), standing in for the saga event rate`;
      notes.push(
        'FALLBACK: no saga event rate in this run (the sagas scenario did not run), so the ratio is against our single-event append rate from the append scenario. Sagas append one event per activity transaction, so they cannot produce events faster than that on this machine: the ratio is stricter than the real one.',
      );
    } else {
      const fallbackDb = await ctx.database('projection_fallback');
      databases.push(fallbackDb);
      const measured = await measureSingleAppendRate(
        ctx,
        fallbackDb,
        Math.max(24, Math.round(3000 * ctx.scale)),
        'projection: fallback baseline (single-event appends)',
      );
      baselineRate = measured.eventsPerSecond;
      baseline = `our single-event append rate measured here (${Math.round(baselineRate)} events/s, ${measured.lanes} lanes), standing in for the saga event rate`;
      notes.push(
        `FALLBACK: no saga event rate in this run (the sagas scenario did not run), so the ratio is against our single-event append rate, measured in a fresh database (${measured.units} appends at ${measured.lanes} lanes, one transaction each). Sagas append one event per activity transaction, so they cannot produce events faster than that on this machine: the ratio is stricter than the real one.`,
      );
    }

    const ratios: Ratio[] = [
      {
        name: 'rebuild-vs-saga-event-rate',
        value: baselineRate > 0 ? rebuildRate / baselineRate : 0,
        target: 10,
        unit: 'x',
        baseline,
      },
    ];
    const figure = (name: string, value: number, unit: string): Figure => ({
      scenario: 'projection',
      name,
      value,
      unit,
    });
    const figures: Figure[] = [
      figure('rebuild rate', rebuildRate, 'events/s'),
      figure('events in the log', filled.events, 'events'),
      figure('orders rebuilt', last.orders, 'orders'),
      figure('rebuild duration (mean)', ms / runs.length, 'ms'),
      figure('baseline event rate', baselineRate, 'events/s'),
    ];
    const mix = [...filled.kinds].map(([kind, n]) => `${n} ${kind}`).join(', ');
    notes.unshift(
      `Log: ${orders} complete order streams (${mix}), ${filled.events} events of the order saga's types with payloads validated against the catalog and activity metadata, appended through appendToStream (${ORDERS_PER_FILL_TX} orders per transaction, ${FILL_LANES} lanes; streams contiguous within a transaction, interleaved across them), then VACUUM (ANALYZE) as autovacuum would have.`,
      `Timed: rebuildOrderSummary(pool) as \`saga projections rebuild order-summary\` calls it (batches of 1000, fresh table, replay, swap), ${repeats} time(s) on the same log; rate = events replayed ÷ wall time (the mean over the runs). Nothing else runs meanwhile.`,
      `Result: ${last.orders} summaries (${statuses.rows.map((r) => `${r.n} ${r.status}`).join(', ')}), ${last.unreadable} unreadable events${last.orders === orders && last.unreadable === 0 ? '' : ` — WARNING: expected ${orders} summaries and no unreadable event`}.`,
      `Bound: ${describeBound(
        mergeCpu(runs.map((x) => ({ cpu: x.cpu, ms: x.ms }))),
        'one connection’s sequential round trips (node and PostgreSQL take turns)',
      )}. Per batch the rebuild reads 1000 events, validates and upcasts each (zod), loads the summaries touched and upserts each changed one: one round trip per order per batch, on one connection.`,
    );
    return { ratios, figures, notes };
  } finally {
    for (const db of databases) await db.drop().catch(() => undefined);
  }
}

export const projectionScenario: Scenario = {
  name: 'projection',
  title: 'Order-summary projection rebuild rate vs the saga event rate',
  run,
};
