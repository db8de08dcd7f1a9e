import type { Tx } from '../store/pool';
import type { RawEvent } from './contract';

/**
 * SQL of the consumer runtime: the inbox (effects once) and dead letters (events a
 * consumer could not handle, and the later events of their stream parked behind them).
 */
const SQL = {
  // Claims the event for this consumer unless it was handled before or its stream is parked
  // behind an unresolved dead letter (ordering per aggregate).
  claim: `INSERT INTO inbox (consumer, event_id)
    SELECT $1, $2 WHERE NOT EXISTS (
      SELECT 1 FROM dead_letters WHERE consumer = $1 AND stream_id = $3 AND status IN ('open', 'parked'))
    ON CONFLICT (consumer, event_id) DO NOTHING
    RETURNING event_id`,
  // Replays bypass the parked check: they are how a stream is unparked, oldest first.
  claimUnconditionally: `INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)
    ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id`,
  whyNotClaimed: `SELECT
      EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2) AS duplicate,
      (SELECT id FROM dead_letters WHERE consumer = $1 AND stream_id = $3 AND status IN ('open', 'parked')
        ORDER BY global_position LIMIT 1) AS blocked_by`,
  insertDeadLetter: `INSERT INTO dead_letters
      (consumer, event_id, stream_id, global_position, event_type, schema_version, event, status, reason, error, stack, attempts)
    VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12)
    ON CONFLICT (consumer, event_id) DO NOTHING
    RETURNING id`,
  blockedBy: `SELECT id FROM dead_letters WHERE consumer = $1 AND stream_id = $2 AND status IN ('open', 'parked')
    ORDER BY global_position LIMIT 1`,
} as const;

export type ClaimResult = { claimed: true } | { claimed: false; duplicate: boolean; blockedBy: number | null };

export async function claimEvent(
  tx: Tx,
  consumer: string,
  event: Pick<RawEvent, 'eventId' | 'streamId'>,
  options: { ignoreParking?: boolean } = {},
): Promise<ClaimResult> {
  const { rowCount } = options.ignoreParking
    ? await tx.query(SQL.claimUnconditionally, [consumer, event.eventId])
    : await tx.query(SQL.claim, [consumer, event.eventId, event.streamId]);
  if (rowCount) return { claimed: true };
  const { rows } = await tx.query<{ duplicate: boolean; blocked_by: number | null }>(SQL.whyNotClaimed, [
    consumer,
    event.eventId,
    event.streamId,
  ]);
  return { claimed: false, duplicate: rows[0]!.duplicate, blockedBy: rows[0]!.blocked_by };
}

export type DeadLetterReason =
  'handler_failed' | 'malformed' | 'unknown_type' | 'unknown_version' | 'invalid_payload' | 'parked';

export interface NewDeadLetter {
  consumer: string;
  eventId: string;
  streamId: string;
  globalPosition: number;
  eventType: string;
  schemaVersion: number;
  /** The event as delivered (replays read it from here). */
  event: unknown;
  reason: DeadLetterReason;
  error: string;
  stack?: string | undefined;
  attempts: number;
}

/**
 * Records a dead letter; when the stream already waits behind an earlier one, the event is
 * parked behind it instead. A redelivered event already recorded adds nothing.
 */
export async function recordDeadLetter(
  tx: Tx,
  letter: NewDeadLetter,
): Promise<{ id: number | undefined; status: 'open' | 'parked' }> {
  const { rows: blocked } = await tx.query<{ id: number }>(SQL.blockedBy, [letter.consumer, letter.streamId]);
  const blockedBy = blocked[0]?.id;
  const parked = blockedBy !== undefined;
  const { rows } = await tx.query<{ id: number }>(SQL.insertDeadLetter, [
    letter.consumer,
    letter.eventId,
    letter.streamId,
    letter.globalPosition,
    letter.eventType,
    letter.schemaVersion,
    JSON.stringify(letter.event),
    parked ? 'parked' : 'open',
    parked ? 'parked' : letter.reason,
    parked ? `held behind dead letter ${blockedBy} of stream ${letter.streamId} (${letter.error})` : letter.error,
    letter.stack ?? null,
    letter.attempts,
  ]);
  return { id: rows[0]?.id, status: parked ? 'parked' : 'open' };
}
