import type { RawEvent } from './contract';
import { withTransaction, type Pool, type Tx } from '../store/pool';
import type { ConsumerDefinition } from './consumer';
import { attemptOnce, readEvent } from './deliver';

/**
 * Operator tooling over dead letters, the same whatever the transport: list, show, replay
 * (re-delivers to that one consumer, inbox-deduplicated) and discard. Resolving a dead
 * letter releases the events of its stream parked behind it, oldest first. Every action is
 * recorded with who acted and how it went.
 */

export type DeadLetterStatus = 'open' | 'parked' | 'replayed' | 'discarded';

export interface DeadLetter {
  id: number;
  consumer: string;
  eventId: string;
  streamId: string;
  globalPosition: number;
  eventType: string;
  schemaVersion: number;
  status: DeadLetterStatus;
  reason: string;
  error: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  resolvedAt: string | null;
}

export interface DeadLetterDetail extends DeadLetter {
  stack: string | null;
  event: unknown;
  actions: { action: string; actor: string; outcome: string; detail: string | null; actedAt: string }[];
}

export interface DeadLetterFilter {
  consumer?: string;
  eventType?: string;
  /** Default: the unresolved ones (open and parked). */
  status?: DeadLetterStatus | 'unresolved' | 'all';
  /** Only this stream's (e.g. `order-<orderId>`). */
  streamId?: string | undefined;
  /** Only this reason (handler_failed, malformed, unknown_type, unknown_version, invalid_payload, parked). */
  reason?: string | undefined;
  /** Default 100. */
  limit?: number;
}

/** A dead letter that does not exist. */
export class DeadLetterNotFoundError extends Error {
  override readonly name = 'DeadLetterNotFoundError';
  constructor(readonly id: number) {
    super(`No dead letter ${id}`);
  }
}

/** The action does not apply to the dead letter in its current state. */
export class DeadLetterStateError extends Error {
  override readonly name = 'DeadLetterStateError';
}

const COLUMNS = `id, consumer, event_id, stream_id, global_position, event_type, schema_version, status, reason, error,
  attempts, first_failed_at, last_failed_at, resolved_at`;

const SQL = {
  list: `SELECT ${COLUMNS} FROM dead_letters
    WHERE ($1::text IS NULL OR consumer = $1) AND ($2::text IS NULL OR event_type = $2)
      AND (CASE $3::text WHEN 'all' THEN true WHEN 'unresolved' THEN status IN ('open', 'parked') ELSE status = $3 END)
      AND ($5::text IS NULL OR stream_id = $5) AND ($6::text IS NULL OR reason = $6)
    ORDER BY id LIMIT $4`,
  show: `SELECT ${COLUMNS}, stack, event FROM dead_letters WHERE id = $1`,
  lock: `SELECT ${COLUMNS}, event FROM dead_letters WHERE id = $1 FOR UPDATE`,
  actions: `SELECT action, actor, outcome, detail, acted_at FROM dead_letter_actions WHERE dead_letter_id = $1 ORDER BY id`,
  earlierUnresolved: `SELECT id FROM dead_letters WHERE consumer = $1 AND stream_id = $2 AND status IN ('open', 'parked')
    AND global_position < $3 AND id <> $4 ORDER BY global_position LIMIT 1`,
  resolve: `UPDATE dead_letters SET status = $2, resolved_at = now() WHERE id = $1`,
  failed: `UPDATE dead_letters SET status = 'open', reason = CASE WHEN reason = 'parked' THEN 'handler_failed' ELSE reason END,
    error = $2, stack = $3, attempts = attempts + 1, last_failed_at = now() WHERE id = $1`,
  record: `INSERT INTO dead_letter_actions (dead_letter_id, action, actor, outcome, detail) VALUES ($1, $2, $3, $4, $5)`,
  nextParked: `SELECT id FROM dead_letters WHERE consumer = $1 AND stream_id = $2 AND status = 'parked'
    ORDER BY global_position LIMIT 1`,
  // Bulk actions pick the open dead letters a filter matches, in log order: the parked events
  // behind each are released by resolving it.
  matching: `SELECT id FROM dead_letters
    WHERE status = 'open' AND ($1::text IS NULL OR consumer = $1) AND ($2::text IS NULL OR event_type = $2)
      AND ($3::text IS NULL OR reason = $3) AND ($4::timestamptz IS NULL OR first_failed_at >= $4)
      AND ($5::timestamptz IS NULL OR first_failed_at < $5)
    ORDER BY global_position, id`,
  parkedBehind: `SELECT count(*)::int AS n FROM dead_letters p WHERE p.status = 'parked'
    AND EXISTS (SELECT 1 FROM dead_letters d WHERE d.id = ANY($1::bigint[])
      AND d.consumer = p.consumer AND d.stream_id = p.stream_id)`,
  // A discarded event counts as handled: a redelivery of it must not take effect later.
  markHandled: `INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
} as const;

interface Row {
  id: number;
  consumer: string;
  event_id: string;
  stream_id: string;
  global_position: number;
  event_type: string;
  schema_version: number;
  status: DeadLetterStatus;
  reason: string;
  error: string;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  resolved_at: Date | null;
  stack?: string | null;
  event?: unknown;
}

const toDeadLetter = (r: Row): DeadLetter => ({
  id: r.id,
  consumer: r.consumer,
  eventId: r.event_id,
  streamId: r.stream_id,
  globalPosition: r.global_position,
  eventType: r.event_type,
  schemaVersion: r.schema_version,
  status: r.status,
  reason: r.reason,
  error: r.error,
  attempts: r.attempts,
  firstFailedAt: r.first_failed_at.toISOString(),
  lastFailedAt: r.last_failed_at.toISOString(),
  resolvedAt: r.resolved_at?.toISOString() ?? null,
});

export async function listDeadLetters(db: Pool, filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
  const { rows } = await db.query<Row>(SQL.list, [
    filter.consumer ?? null,
    filter.eventType ?? null,
    filter.status ?? 'unresolved',
    filter.limit ?? 100,
    filter.streamId ?? null,
    filter.reason ?? null,
  ]);
  return rows.map(toDeadLetter);
}

export async function showDeadLetter(db: Pool, id: number): Promise<DeadLetterDetail> {
  const { rows } = await db.query<Row>(SQL.show, [id]);
  if (!rows[0]) throw new DeadLetterNotFoundError(id);
  const actions = await db.query<{
    action: string;
    actor: string;
    outcome: string;
    detail: string | null;
    acted_at: Date;
  }>(SQL.actions, [id]);
  return {
    ...toDeadLetter(rows[0]),
    stack: rows[0].stack ?? null,
    event: rows[0].event,
    actions: actions.rows.map((a) => ({
      action: a.action,
      actor: a.actor,
      outcome: a.outcome,
      detail: a.detail,
      actedAt: a.acted_at.toISOString(),
    })),
  };
}

export interface ActionResult {
  /** The dead letter after the action, with its event and every action taken. */
  deadLetter: DeadLetterDetail;
  outcome: 'applied' | 'duplicate' | 'failed' | 'discarded';
  error?: string;
  /** Parked events of the same stream that were released (replayed) afterwards. */
  released: { id: number; outcome: 'applied' | 'duplicate' | 'failed'; error?: string }[];
}

function consumerOf(consumers: readonly ConsumerDefinition[], name: string): ConsumerDefinition {
  const consumer = consumers.find((c) => c.name === name);
  if (!consumer) throw new DeadLetterStateError(`Consumer ${name} is not known to this process; cannot replay`);
  return consumer;
}

async function lockForAction(tx: Tx, id: number): Promise<Row> {
  const { rows } = await tx.query<Row>(SQL.lock, [id]);
  const row = rows[0];
  if (!row) throw new DeadLetterNotFoundError(id);
  if (row.status === 'replayed' || row.status === 'discarded') {
    throw new DeadLetterStateError(`Dead letter ${id} is already ${row.status}`);
  }
  const { rows: earlier } = await tx.query<{ id: number }>(SQL.earlierUnresolved, [
    row.consumer,
    row.stream_id,
    row.global_position,
    id,
  ]);
  if (earlier[0]) {
    throw new DeadLetterStateError(
      `Dead letter ${id} waits behind dead letter ${earlier[0].id} of the same stream; resolve that one first`,
    );
  }
  return row;
}

/** One replay attempt of a locked dead letter; records the outcome. */
async function replayOne(
  pool: Pool,
  consumers: readonly ConsumerDefinition[],
  id: number,
  actor: string,
  detail: string | null,
): Promise<{ outcome: 'applied' | 'duplicate' | 'failed'; error?: string }> {
  try {
    return await withTransaction(pool, async (tx) => {
      const row = await lockForAction(tx, id);
      const consumer = consumerOf(consumers, row.consumer);
      const raw = row.event as RawEvent;
      const outcome = await attemptOnce(tx, consumer, raw, readEvent(raw), { ignoreParking: true });
      const result = outcome === 'duplicate' ? 'duplicate' : 'applied';
      await tx.query(SQL.resolve, [id, 'replayed']);
      await tx.query(SQL.record, [id, 'replay', actor, result, detail]);
      return { outcome: result } as const;
    });
  } catch (err) {
    if (err instanceof DeadLetterNotFoundError || err instanceof DeadLetterStateError) throw err;
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    await withTransaction(pool, async (tx) => {
      await tx.query(SQL.failed, [id, error, err instanceof Error ? (err.stack ?? null) : null]);
      await tx.query(SQL.record, [id, 'replay', actor, 'failed', error]);
    });
    return { outcome: 'failed', error };
  }
}

/** After a dead letter is resolved, replays what was parked behind it until one fails again. */
async function releaseParked(
  pool: Pool,
  consumers: readonly ConsumerDefinition[],
  letter: DeadLetter,
  actor: string,
): Promise<ActionResult['released']> {
  const released: ActionResult['released'] = [];
  for (;;) {
    const { rows } = await pool.query<{ id: number }>(SQL.nextParked, [letter.consumer, letter.streamId]);
    if (!rows[0]) return released;
    const result = await replayOne(pool, consumers, rows[0].id, actor, `released after dead letter ${letter.id}`);
    released.push({ id: rows[0].id, ...result });
    if (result.outcome === 'failed') return released;
  }
}

export async function replayDeadLetter(
  pool: Pool,
  consumers: readonly ConsumerDefinition[],
  id: number,
  actor: string,
): Promise<ActionResult> {
  const result = await replayOne(pool, consumers, id, actor, null);
  const letter = await showDeadLetter(pool, id);
  const released = result.outcome === 'failed' ? [] : await releaseParked(pool, consumers, letter, actor);
  return { deadLetter: letter, ...result, released };
}

export async function discardDeadLetter(
  pool: Pool,
  consumers: readonly ConsumerDefinition[],
  id: number,
  actor: string,
  note?: string,
): Promise<ActionResult> {
  await withTransaction(pool, async (tx) => {
    const row = await lockForAction(tx, id);
    await tx.query(SQL.markHandled, [row.consumer, row.event_id]);
    await tx.query(SQL.resolve, [id, 'discarded']);
    await tx.query(SQL.record, [id, 'discard', actor, 'discarded', note ?? null]);
  });
  const letter = await showDeadLetter(pool, id);
  return { deadLetter: letter, outcome: 'discarded', released: await releaseParked(pool, consumers, letter, actor) };
}

/** Which dead letters a bulk action takes: the open ones matching every field given. */
export interface BulkFilter {
  consumer?: string | undefined;
  eventType?: string | undefined;
  reason?: string | undefined;
  /** First failed at or after (ISO 8601). */
  from?: string | undefined;
  /** First failed before (ISO 8601). */
  to?: string | undefined;
}

export interface BulkResult {
  dryRun: boolean;
  /** Open dead letters the filter matched. */
  matched: number;
  /** Parked events of the same streams waiting behind them (released when they resolve). */
  parkedBehind: number;
  counts: { applied: number; duplicate: number; failed: number; discarded: number; skipped: number; released: number };
  results: { id: number; outcome: ActionResult['outcome'] | 'skipped' | 'matched'; error?: string }[];
}

async function matchingIds(pool: Pool, filter: BulkFilter): Promise<number[]> {
  const { rows } = await pool.query<{ id: string }>(SQL.matching, [
    filter.consumer ?? null,
    filter.eventType ?? null,
    filter.reason ?? null,
    filter.from ?? null,
    filter.to ?? null,
  ]);
  return rows.map((r) => Number(r.id));
}

/**
 * Replays or discards every open dead letter a filter matches, one at a time in log order,
 * each exactly as the single action would (its parked events released after it). A dead letter
 * resolved meanwhile, or waiting behind another, is skipped; a second run finds nothing left.
 * With `dryRun`, only counts.
 */
export async function bulkResolve(
  pool: Pool,
  consumers: readonly ConsumerDefinition[],
  action: 'replay' | 'discard',
  filter: BulkFilter,
  options: { actor: string; dryRun?: boolean; note?: string },
): Promise<BulkResult> {
  const ids = await matchingIds(pool, filter);
  const { rows } = await pool.query<{ n: number }>(SQL.parkedBehind, [ids]);
  const result: BulkResult = {
    dryRun: options.dryRun ?? false,
    matched: ids.length,
    parkedBehind: rows[0]!.n,
    counts: { applied: 0, duplicate: 0, failed: 0, discarded: 0, skipped: 0, released: 0 },
    results: [],
  };
  if (result.dryRun) {
    result.results = ids.map((id) => ({ id, outcome: 'matched' }));
    return result;
  }
  for (const id of ids) {
    try {
      const done =
        action === 'replay'
          ? await replayDeadLetter(pool, consumers, id, options.actor)
          : await discardDeadLetter(pool, consumers, id, options.actor, options.note);
      result.counts[done.outcome]++;
      result.counts.released += done.released.filter((r) => r.outcome !== 'failed').length;
      result.results.push({ id, outcome: done.outcome, ...(done.error ? { error: done.error } : {}) });
    } catch (err) {
      if (!(err instanceof DeadLetterStateError || err instanceof DeadLetterNotFoundError)) throw err;
      result.counts.skipped++;
      result.results.push({ id, outcome: 'skipped', error: err.message });
    }
  }
  return result;
}
