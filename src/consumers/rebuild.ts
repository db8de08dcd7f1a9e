import { readEvent } from '../delivery/deliver';
import { positionOf, START_OF_LOG, type LogPosition, type RawEvent } from '../delivery/contract';
import { readCommitted } from '../delivery/reader';
import { withTransaction, type Pool, type Tx } from '../store/pool';
import {
  applyToSummary,
  ORDER_SUMMARY_TABLE,
  saveSummary,
  SUMMARY_COLUMNS,
  SUMMARY_EVENT_TYPES,
  toSummary,
  type OrderSummary,
  type SummaryRow,
} from './order-summary';

/**
 * Rebuilds `order_summary` from the whole log into a fresh table and swaps it in. The live
 * table keeps serving reads (and the live projector keeps writing to it) during the long
 * replay; the swap takes an exclusive lock, replays what was committed meanwhile, and renames
 * the tables in one transaction. Events the live projector applies after the swap are ones the
 * rebuild already holds (skipped by stream version) or newer ones: nothing is lost or doubled.
 */

const REBUILD_TABLE = `${ORDER_SUMMARY_TABLE}_rebuild`;
const OLD_TABLE = `${ORDER_SUMMARY_TABLE}_old`;
const HANDLED = new Set(SUMMARY_EVENT_TYPES);

const SQL = {
  drop: `DROP TABLE IF EXISTS ${REBUILD_TABLE}`,
  create: `CREATE TABLE ${REBUILD_TABLE} (LIKE ${ORDER_SUMMARY_TABLE} INCLUDING ALL)`,
  total: `SELECT count(*)::int AS n FROM events`,
  load: `SELECT ${SUMMARY_COLUMNS} FROM ${REBUILD_TABLE} WHERE order_id = ANY($1::uuid[])`,
  lock: `LOCK TABLE ${ORDER_SUMMARY_TABLE} IN ACCESS EXCLUSIVE MODE`,
  swap: [
    `ALTER TABLE ${ORDER_SUMMARY_TABLE} RENAME TO ${OLD_TABLE}`,
    `ALTER TABLE ${REBUILD_TABLE} RENAME TO ${ORDER_SUMMARY_TABLE}`,
    `DROP TABLE ${OLD_TABLE}`,
  ],
} as const;

export interface RebuildOptions {
  /** Events per batch. Default 1000. */
  batchSize?: number;
  /** Called after each batch with the events read so far and the log's size at the start. */
  onProgress?(done: number, total: number): void;
}

export interface RebuildResult {
  events: number;
  /** Events that could not be read (unknown type or version, invalid payload): skipped, as the live projector dead-letters them. */
  unreadable: number;
  orders: number;
  durationMs: number;
}

/** Applies a batch of events to the rebuild table: one load and one upsert per order touched. */
async function applyBatch(tx: Tx, events: RawEvent[]): Promise<number> {
  let unreadable = 0;
  const consumed = events.flatMap((raw) => {
    if (!HANDLED.has(raw.eventType)) return [];
    try {
      return [readEvent(raw)];
    } catch {
      unreadable++;
      return [];
    }
  });
  const ids = [...new Set(consumed.map((e) => e.payload.orderId as string))];
  if (ids.length === 0) return unreadable;
  const { rows } = await tx.query<SummaryRow>(SQL.load, [ids]);
  const summaries = new Map<string, OrderSummary | undefined>(rows.map((r) => [r.order_id, toSummary(r)]));
  const changed = new Set<string>();
  for (const event of consumed) {
    const id = event.payload.orderId as string;
    const next = applyToSummary(summaries.get(id), event);
    if (next && next !== summaries.get(id)) changed.add(id);
    summaries.set(id, next);
  }
  for (const id of changed) await saveSummary(tx, REBUILD_TABLE, summaries.get(id)!);
  return unreadable;
}

/** Replays from `from` until nothing committed is left; returns where it stopped. */
async function replay(
  db: Pool | Tx,
  from: LogPosition,
  batchSize: number,
  onBatch: (events: RawEvent[]) => Promise<void>,
): Promise<LogPosition> {
  let position = from;
  for (;;) {
    const events = await readCommitted(db, position, batchSize);
    if (events.length === 0) return position;
    await onBatch(events);
    position = positionOf(events.at(-1)!);
  }
}

export async function rebuildOrderSummary(pool: Pool, options: RebuildOptions = {}): Promise<RebuildResult> {
  const started = Date.now();
  const batchSize = options.batchSize ?? 1000;
  await pool.query(SQL.drop); // a rebuild that crashed half-way left its table behind
  await pool.query(SQL.create);
  const total = (await pool.query<{ n: number }>(SQL.total)).rows[0]!.n;
  let done = 0;
  let unreadable = 0;

  const position = await replay(pool, START_OF_LOG, batchSize, async (events) => {
    unreadable += await withTransaction(pool, (tx) => applyBatch(tx, events));
    done += events.length;
    options.onProgress?.(done, Math.max(total, done));
  });

  // The swap: no live write in between, what was committed meanwhile replayed, tables renamed.
  await withTransaction(pool, async (tx) => {
    await tx.query(SQL.lock);
    await replay(tx, position, batchSize, async (events) => {
      unreadable += await applyBatch(tx, events);
      done += events.length;
    });
    for (const statement of SQL.swap) await tx.query(statement);
  });
  options.onProgress?.(done, Math.max(total, done));
  const orders = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ORDER_SUMMARY_TABLE}`)).rows[0]!.n;
  return { events: done, unreadable, orders, durationMs: Date.now() - started };
}
