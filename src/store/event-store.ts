import { randomUUID } from 'node:crypto';
import { onCommit, type Pool, type Tx } from './pool';

/** What a writer hands to the store; the store assigns position, version and transaction. */
export interface NewEvent {
  eventId?: string;
  eventType: string;
  schemaVersion?: number;
  payload: Record<string, unknown>;
  metadata?: EventMetadata;
}

export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  workflowId?: string;
  runId?: string;
  traceparent?: string;
  [key: string]: unknown;
}

export interface StoredEvent {
  globalPosition: number;
  transactionId: string;
  eventId: string;
  streamId: string;
  streamVersion: number;
  eventType: string;
  schemaVersion: number;
  payload: Record<string, unknown>;
  metadata: EventMetadata;
  occurredAt: Date;
}

/** The stream moved on since the writer read it (optimistic concurrency). */
export class StreamVersionConflictError extends Error {
  override readonly name = 'StreamVersionConflictError';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
  ) {
    super(`Stream ${streamId} is no longer at version ${expectedVersion}`);
  }
}

/** The channel readers LISTEN on; notified after every commit that appended events. */
export const EVENTS_CHANNEL = 'saga_events';

/**
 * The least time between two notifications of one pool, in ms. Each `pg_notify` is a
 * transaction of its own, serialised with every other notifying commit; one per commit cost
 * single-event appends 10–15 % of their rate. A reader waits at most this much longer.
 */
const NOTIFY_GAP_MS = 2;

/** Pools with a notification in flight or pending; `again`: a commit landed since it was sent. */
const announcing = new WeakMap<Pool, { again: boolean }>();

/**
 * Wakes the event readers (relay, Postgres-native consumers) after a commit that appended
 * events. PostgreSQL serialises the commits of notifying transactions, so the notification is
 * sent after the commit rather than by a trigger inside it (which capped append throughput).
 * Per pool, one notification at a time: commits landing while one is in flight get one more,
 * sent `NOTIFY_GAP_MS` after it completes, so every commit is followed by a notification sent
 * after it, at most one per round trip and gap however many commits it covers. A writer that
 * dies between its commit and the notification costs latency only: readers also poll.
 */
function announceAppend(pool: Pool): void {
  const pending = announcing.get(pool);
  if (pending) {
    pending.again = true;
    return;
  }
  const state = { again: false };
  announcing.set(pool, state);
  const send = (): void => {
    state.again = false;
    pool
      .query(SQL.notify, [EVENTS_CHANNEL])
      .catch(() => undefined)
      .finally(() => {
        if (state.again) setTimeout(send, NOTIFY_GAP_MS).unref();
        else announcing.delete(pool);
      });
  };
  // The next event-loop turn: commits completing in this one share the notification.
  setImmediate(send);
}

/** The columns every event read selects (the committed-order reader uses them too). */
export const EVENT_COLUMNS = `global_position, transaction_id::text, event_id, stream_id, stream_version, event_type,
  schema_version, payload, metadata, occurred_at`;

const APPEND = `INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, payload, metadata)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[])
    RETURNING global_position, transaction_id::text, event_id, occurred_at`;

const SQL = {
  append: APPEND,
  // The same append, storing a claimed command's result in the same statement (one round trip
  // less for every activity). The UPDATE runs whether or not the INSERT reads it.
  appendCompleting: `WITH completed AS (UPDATE processed_commands SET result = $9::jsonb WHERE command_id = $8) ${APPEND}`,
  currentVersion: `SELECT coalesce(max(stream_version), 0) AS version FROM events WHERE stream_id = $1`,
  columns: `SELECT ${EVENT_COLUMNS} FROM events`,
  notify: `SELECT pg_notify($1, '')`,
  readStream: `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version`,
} as const;

export interface EventRow {
  global_position: number;
  transaction_id: string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  event_type: string;
  schema_version: number;
  payload: Record<string, unknown>;
  metadata: EventMetadata;
  occurred_at: Date;
}

type AppendedRow = Pick<EventRow, 'global_position' | 'transaction_id' | 'event_id' | 'occurred_at'>;

export const toStoredEvent = (r: EventRow): StoredEvent => ({
  globalPosition: r.global_position,
  transactionId: r.transaction_id,
  eventId: r.event_id,
  streamId: r.stream_id,
  streamVersion: r.stream_version,
  eventType: r.event_type,
  schemaVersion: r.schema_version,
  payload: r.payload,
  metadata: r.metadata,
  occurredAt: r.occurred_at,
});

export interface AppendOptions {
  /**
   * A command claimed in this transaction (`processed_commands`) whose result to store in the
   * same statement as the append. Default: none.
   */
  completes?: { commandId: string; result: unknown };
}

/**
 * Appends events to a stream inside the caller's transaction. `expectedVersion` is the
 * version the writer based its decision on; if another writer appended meanwhile, the
 * unique (stream_id, stream_version) constraint rejects this append.
 */
export async function appendToStream(
  tx: Tx,
  streamId: string,
  expectedVersion: number,
  events: NewEvent[],
  options: AppendOptions = {},
): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  try {
    onCommit(tx, announceAppend);
    const ids = events.map((e) => e.eventId ?? randomUUID());
    const payloads = events.map((e) => JSON.stringify(e.payload));
    const metadata = events.map((e) => JSON.stringify(e.metadata ?? {}));
    const params: unknown[] = [
      ids,
      events.map(() => streamId),
      events.map((_, i) => expectedVersion + i + 1),
      events.map((e) => e.eventType),
      events.map((e) => e.schemaVersion ?? 1),
      payloads,
      metadata,
    ];
    const { completes } = options;
    if (completes) params.push(completes.commandId, JSON.stringify(completes.result ?? null));
    // Named: prepared once per connection, then only bound and executed (the hot path of every
    // activity). Only what the database assigned comes back; the rest is what was sent.
    const { rows } = await tx.query<AppendedRow>(
      completes
        ? { name: 'events-append-completing', text: SQL.appendCompleting }
        : { name: 'events-append', text: SQL.append },
      params,
    );
    const assigned = new Map(rows.map((r) => [r.event_id, r]));
    return events.map((e, i) => {
      const row = assigned.get(ids[i]!)!;
      return {
        globalPosition: row.global_position,
        transactionId: row.transaction_id,
        eventId: ids[i]!,
        streamId,
        streamVersion: expectedVersion + i + 1,
        eventType: e.eventType,
        schemaVersion: e.schemaVersion ?? 1,
        // As stored (jsonb drops undefined fields and turns dates into strings).
        payload: JSON.parse(payloads[i]!) as Record<string, unknown>,
        metadata: JSON.parse(metadata[i]!) as EventMetadata,
        occurredAt: row.occurred_at,
      };
    });
  } catch (err) {
    if ((err as { constraint?: string }).constraint === 'events_stream_version_unique') {
      throw new StreamVersionConflictError(streamId, expectedVersion);
    }
    throw err;
  }
}

export async function currentStreamVersion(db: Pool | Tx, streamId: string): Promise<number> {
  const { rows } = await db.query<{ version: number }>(SQL.currentVersion, [streamId]);
  return rows[0]?.version ?? 0;
}

export async function readStream(db: Pool | Tx, streamId: string): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>({ name: 'events-read-stream', text: SQL.readStream }, [streamId]);
  return rows.map(toStoredEvent);
}

/** Events matching a condition (a fixed SQL fragment with parameters), by default in log order. */
export async function readEventsWhere(
  db: Pool | Tx,
  condition: string,
  params: unknown[],
  orderBy: 'global_position' | 'stream_version' = 'global_position',
): Promise<StoredEvent[]> {
  const { rows } = await db.query<EventRow>(`${SQL.columns} WHERE ${condition} ORDER BY ${orderBy}`, params);
  return rows.map(toStoredEvent);
}
