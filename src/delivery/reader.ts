import { EVENT_COLUMNS, toStoredEvent, type EventRow } from '../store/event-store';
import type { Pool, Tx } from '../store/pool';
import { waitFor } from '../util/wait';
import { START_OF_LOG, type LogPosition, type RawEvent } from './contract';

/**
 * The committed-order reader over `events`. Positions are `(transaction_id, global_position)`
 * pairs and only events of transactions older than every transaction still in flight are
 * read, so an event that takes a lower `global_position` but commits later is never skipped:
 * it becomes visible before anything after it in this order does.
 */

/** Another reader moved the checkpoint since this one read it (a standby took over). */
export class CheckpointConflictError extends Error {
  override readonly name = 'CheckpointConflictError';
  constructor(readonly subscriber: string) {
    super(`Checkpoint of ${subscriber} was moved by another reader`);
  }
}

const SQL = {
  readAfter: `SELECT ${EVENT_COLUMNS}
    FROM events
    WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      AND (transaction_id, global_position) > ($1::xid8, $2::bigint)
    -- Qualified: the bare name would sort by the text output column ('1000' < '999').
    ORDER BY events.transaction_id, events.global_position
    LIMIT $3`,
  readStreams: `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ANY($1) ORDER BY global_position`,
  ensureCheckpoint: `INSERT INTO subscription_checkpoints (subscriber) VALUES ($1) ON CONFLICT (subscriber) DO NOTHING`,
  loadCheckpoint: `SELECT transaction_id::text, global_position FROM subscription_checkpoints WHERE subscriber = $1`,
  // Compare-and-set: moves only from the pair the reader started from, and only forward.
  advanceCheckpoint: `UPDATE subscription_checkpoints
    SET transaction_id = $4::xid8, global_position = $5, updated_at = now()
    WHERE subscriber = $1 AND transaction_id = $2::xid8 AND global_position = $3
      AND (transaction_id, global_position) < ($4::xid8, $5::bigint)`,
  // Progress markers of broker consumers: only ever move forward, no compare-and-set needed.
  recordProgress: `INSERT INTO subscription_checkpoints (subscriber, transaction_id, global_position)
    VALUES ($1, $2::xid8, $3)
    ON CONFLICT (subscriber) DO UPDATE SET transaction_id = excluded.transaction_id,
      global_position = excluded.global_position, updated_at = now()
    WHERE (subscription_checkpoints.transaction_id, subscription_checkpoints.global_position)
      < (excluded.transaction_id, excluded.global_position)`,
  // Events committed past a position (a lag or backlog figure) and the oldest one's age.
  backlog: `SELECT count(*)::int AS events, extract(epoch FROM now() - min(occurred_at))::float AS oldest_age_seconds
    FROM events
    WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
      AND (transaction_id, global_position) > ($1::xid8, $2::bigint)`,
  // Committed events the reader may not take yet: a transaction older than theirs is still open.
  heldBack: `SELECT count(*)::int AS events, extract(epoch FROM now() - min(occurred_at))::float AS oldest_age_seconds
    FROM events
    WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`,
} as const;

const toRawEvent = (r: EventRow): RawEvent => ({
  ...toStoredEvent(r),
  occurredAt: r.occurred_at.toISOString(),
});

/** Up to `limit` committed events after `after`, in commit-safe order. */
export async function readCommitted(db: Pool | Tx, after: LogPosition, limit: number): Promise<RawEvent[]> {
  const { rows } = await db.query<EventRow>(SQL.readAfter, [after.transactionId, after.globalPosition, limit]);
  return rows.map(toRawEvent);
}

/** Every event of these streams, in log order (the explorer re-delivers a run's events). */
export async function readStreams(db: Pool | Tx, streams: readonly string[]): Promise<RawEvent[]> {
  const { rows } = await db.query<EventRow>(SQL.readStreams, [streams]);
  return rows.map(toRawEvent);
}

/** The subscriber's checkpoint, created at the start of the log the first time. */
export async function loadCheckpoint(db: Pool | Tx, subscriber: string): Promise<LogPosition> {
  await db.query(SQL.ensureCheckpoint, [subscriber]);
  const { rows } = await db.query<{ transaction_id: string; global_position: number }>(SQL.loadCheckpoint, [
    subscriber,
  ]);
  const row = rows[0]!;
  return { transactionId: row.transaction_id, globalPosition: row.global_position };
}

/** The subscriber's checkpoint without creating it (for figures: metrics, health); start of log when absent. */
export async function peekCheckpoint(db: Pool | Tx, subscriber: string): Promise<LogPosition> {
  const { rows } = await db.query<{ transaction_id: string; global_position: number }>(SQL.loadCheckpoint, [
    subscriber,
  ]);
  return rows[0] ? { transactionId: rows[0].transaction_id, globalPosition: rows[0].global_position } : START_OF_LOG;
}

/** Moves the checkpoint from `from` to `to`; throws CheckpointConflictError if it was not at `from`. */
export async function advanceCheckpoint(
  db: Pool | Tx,
  subscriber: string,
  from: LogPosition,
  to: LogPosition,
): Promise<void> {
  const { rowCount } = await db.query(SQL.advanceCheckpoint, [
    subscriber,
    from.transactionId,
    from.globalPosition,
    to.transactionId,
    to.globalPosition,
  ]);
  if (rowCount === 0) {
    const now = await loadCheckpoint(db, subscriber);
    // Already there (an idempotent repeat) is fine; anything else is another reader's move.
    if (now.transactionId === to.transactionId && now.globalPosition === to.globalPosition) return;
    throw new CheckpointConflictError(subscriber);
  }
}

/**
 * Records how far a consumer fed by a broker has got (the last event it acknowledged), so its
 * lag can be measured against the log like a Postgres-native checkpoint. Never moves back.
 */
export async function recordProgress(db: Pool | Tx, subscriber: string, to: LogPosition): Promise<void> {
  await db.query(SQL.recordProgress, [subscriber, to.transactionId, to.globalPosition]);
}

/** How many committed events lie past `after`, and how old the oldest of them is. */
export async function backlogAfter(
  db: Pool | Tx,
  after: LogPosition,
): Promise<{ events: number; oldestAgeSeconds: number }> {
  const { rows } = await db.query<{ events: number; oldest_age_seconds: number | null }>(SQL.backlog, [
    after.transactionId,
    after.globalPosition,
  ]);
  return { events: rows[0]!.events, oldestAgeSeconds: rows[0]!.oldest_age_seconds ?? 0 };
}

/**
 * Committed events no commit-order reader can take yet, and how old the oldest of them is: a
 * transaction that began writing before they committed is still open somewhere on the server
 * (in any database). A handful for a moment is normal under concurrent writers; old ones mean
 * a long transaction is holding every relay and consumer back while their backlog and lag,
 * which count only readable events, stay low.
 */
export async function heldBackEvents(db: Pool | Tx): Promise<{ events: number; oldestAgeSeconds: number }> {
  const { rows } = await db.query<{ events: number; oldest_age_seconds: number | null }>(SQL.heldBack);
  return { events: rows[0]!.events, oldestAgeSeconds: rows[0]!.oldest_age_seconds ?? 0 };
}

/**
 * Waits until every event committed so far is readable in commit order. A transaction in
 * flight anywhere on the server (in another database too) holds younger events back a moment:
 * for whoever reads the whole log right after writing it (a benchmark's rebuild, a test).
 */
export async function untilCommittedReadable(db: Pool, timeoutMs = 30_000): Promise<void> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
  const committed = rows[0]!.n;
  await waitFor(async () => ((await backlogAfter(db, START_OF_LOG)).events >= committed ? true : undefined), {
    timeoutMs,
    description: `the ${committed} events committed to be readable in commit order`,
  });
}
