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

const announcing = new WeakSet<Pool>();

/**
 * Wakes the event readers (relay, Postgres-native consumers) after a commit that appended
 * events: one `pg_notify` per pool and event-loop turn, however many commits it covers.
 * PostgreSQL serialises the commits of notifying transactions, so the notification is sent
 * after the commit rather than by a trigger inside it (which capped append throughput). A
 * writer that dies between its commit and the notification costs latency only: readers also
 * poll.
 */
function announceAppend(pool: Pool): void {
  if (announcing.has(pool)) return;
  announcing.add(pool);
  setImmediate(() => {
    // Cleared before the query: a commit landing meanwhile schedules a notification of its own.
    announcing.delete(pool);
    pool.query(SQL.notify, [EVENTS_CHANNEL]).catch(() => undefined);
  });
}

/** The columns every event read selects (the committed-order reader uses them too). */
export const EVENT_COLUMNS = `global_position, transaction_id::text, event_id, stream_id, stream_version, event_type,
  schema_version, payload, metadata, occurred_at`;

const SQL = {
  append: `INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, payload, metadata)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[])
    RETURNING global_position, transaction_id::text, event_id, occurred_at`,
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
): Promise<StoredEvent[]> {
  if (events.length === 0) return [];
  try {
    onCommit(tx, announceAppend);
    const ids = events.map((e) => e.eventId ?? randomUUID());
    const payloads = events.map((e) => JSON.stringify(e.payload));
    const metadata = events.map((e) => JSON.stringify(e.metadata ?? {}));
    // Named: prepared once per connection, then only bound and executed (the hot path of every
    // activity). Only what the database assigned comes back; the rest is what was sent.
    const { rows } = await tx.query<AppendedRow>({ name: 'events-append', text: SQL.append }, [
      ids,
      events.map(() => streamId),
      events.map((_, i) => expectedVersion + i + 1),
      events.map((e) => e.eventType),
      events.map((e) => e.schemaVersion ?? 1),
      payloads,
      metadata,
    ]);
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
