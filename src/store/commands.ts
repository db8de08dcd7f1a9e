import {
  appendToStream,
  EVENT_COLUMNS,
  toStoredEvent,
  type EventRow,
  type NewEvent,
  type StoredEvent,
} from './event-store';
import { withTransaction, type Pool, type Tx } from './pool';

const CLAIM = `INSERT INTO processed_commands (command_id, result, correlation_id, causation_id) VALUES ($1, 'null'::jsonb, $2, $3)
    ON CONFLICT (command_id) DO NOTHING RETURNING command_id`;

/** A stream's events joined to one row that is always there (a stream without events gives nulls). */
const streamOf = (param: string) =>
  `LEFT JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ${param}) e ON true`;

const SQL = {
  // Claiming first makes a concurrent duplicate wait on the primary key until the first
  // attempt commits (then it sees the stored result) or rolls back (then it proceeds).
  claim: CLAIM,
  // The claim and, only when it succeeded, the stream: one round trip. The stream is read in
  // the statement's snapshot, taken before a wait on a duplicate that then rolled back; an
  // append based on it that meanwhile became stale is refused by the stream version.
  claimReadingStream: `WITH claim AS (${CLAIM}), claimed AS (SELECT EXISTS (SELECT FROM claim) AS claimed)
    SELECT claimed.claimed, e.* FROM claimed
    LEFT JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $4 AND claimed.claimed) e ON true
    ORDER BY e.stream_version`,
  result: `SELECT result FROM processed_commands WHERE command_id = $1`,
  // The stored result (if any) and the stream, in one snapshot and one round trip.
  resultWithStream: `SELECT p.command_id IS NOT NULL AS processed, p.result, e.*
    FROM (SELECT) one LEFT JOIN processed_commands p ON p.command_id = $1 ${streamOf('$2')}
    ORDER BY e.stream_version`,
  complete: `UPDATE processed_commands SET result = $2::jsonb WHERE command_id = $1`,
} as const;

/** Rows of a stream read joined to one always-present row: the events, without the null row. */
const eventsOf = (rows: (EventRow | { global_position: null })[]): StoredEvent[] =>
  rows.filter((r): r is EventRow => r.global_position !== null).map(toStoredEvent);

/**
 * Runs `handler` at most once per `commandId`, in one transaction with its effects.
 * A retry, a replay, or a second worker racing on the same command gets the first result
 * and writes nothing. The result must be JSON-serialisable.
 */
export async function executeOnce<T>(
  pool: Pool,
  commandId: string,
  handler: (tx: Tx) => Promise<T>,
  trace: { correlationId?: string; causationId?: string } = {},
): Promise<T> {
  return withTransaction(pool, async (tx) => {
    const claimed = await tx.query({ name: 'commands-claim', text: SQL.claim }, [
      commandId,
      trace.correlationId ?? null,
      trace.causationId ?? null,
    ]);
    if (claimed.rowCount === 0) return storedResult<T>(tx, commandId);
    const result = await handler(tx);
    await tx.query({ name: 'commands-complete', text: SQL.complete }, [commandId, JSON.stringify(result ?? null)]);
    return result;
  });
}

/** What a command on one stream decided: its result, and the events to append (each with its id). */
export interface StreamDecision<T> {
  result: T;
  events: NewEvent[];
}

/**
 * `executeOnce` for a command that reads one stream and appends to it (every activity): the
 * claim reads the stream in the same statement, and the append stores the result, so the
 * transaction is BEGIN, claim + read, the handler's own statements, append + result, COMMIT.
 * The handler gets the stream's events; the append is at the version of the last one.
 */
export async function executeOnceOnStream<T>(
  pool: Pool,
  commandId: string,
  streamId: string,
  handler: (tx: Tx, stored: StoredEvent[]) => Promise<StreamDecision<T>>,
  trace: { correlationId?: string; causationId?: string } = {},
): Promise<T> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<EventRow & { claimed: boolean }>(
      { name: 'commands-claim-reading-stream', text: SQL.claimReadingStream },
      [commandId, trace.correlationId ?? null, trace.causationId ?? null, streamId],
    );
    if (!rows[0]!.claimed) return storedResult<T>(tx, commandId);
    const stored = eventsOf(rows);
    const { result, events } = await handler(tx, stored);
    if (events.length > 0) {
      await appendToStream(tx, streamId, stored.at(-1)?.streamVersion ?? 0, events, {
        completes: { commandId, result },
      });
    } else {
      await tx.query({ name: 'commands-complete', text: SQL.complete }, [commandId, JSON.stringify(result ?? null)]);
    }
    return result;
  });
}

/** The result a duplicate returns (read in a statement of its own: the first attempt's commit is in its snapshot). */
async function storedResult<T>(tx: Tx, commandId: string): Promise<T> {
  const { rows } = await tx.query<{ result: T }>(SQL.result, [commandId]);
  return rows[0]!.result;
}

/** The stored result of a command already processed, or undefined. */
export async function findProcessedCommand<T>(db: Pool | Tx, commandId: string): Promise<T | undefined> {
  const { rows } = await db.query<{ result: T }>(SQL.result, [commandId]);
  return rows.length ? rows[0]!.result : undefined;
}

/** `findProcessedCommand` and the stream's events, in one statement (one round trip, one snapshot). */
export async function findProcessedCommandWithStream<T>(
  db: Pool | Tx,
  commandId: string,
  streamId: string,
): Promise<{ done: T | undefined; stored: StoredEvent[] }> {
  const { rows } = await db.query<EventRow & { processed: boolean; result: T }>(
    { name: 'commands-result-with-stream', text: SQL.resultWithStream },
    [commandId, streamId],
  );
  return { done: rows[0]!.processed ? rows[0]!.result : undefined, stored: eventsOf(rows) };
}
