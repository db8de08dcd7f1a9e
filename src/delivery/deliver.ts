import { createHash } from 'node:crypto';
import { inConsumeSpan } from './spans';
import { toEnvelope } from '../events/envelope';
import { EventSchemaViolationError, UnknownEventTypeError, UnknownEventVersionError } from '../events/errors';
import { eventDefinition } from '../events/catalog';
import type { RawEvent } from './contract';
import { withTransaction, type Pool, type Tx } from '../store/pool';
import { isTransientDatabaseError } from '../store/transient-errors';
import { partitionOf } from './transports/codec';
import type { Delivery } from './contract';
import { backoffDelay } from '../util/backoff';
import { pause } from '../util/pause';
import type { ConsumedEvent, ConsumerDefinition } from './consumer';
import { claimEvent, recordDeadLetter, type DeadLetterReason, type NewDeadLetter } from './inbox';

export type DeliveryOutcome = 'handled' | 'duplicate' | 'skipped' | 'parked' | 'dead_lettered';

export interface ProcessHooks {
  /** Called before each retry of a failed attempt. */
  onRetry?(consumer: string, attempt: number, err: unknown): void;
  /** Stops retry pauses early (shutdown); the attempt count is then not exhausted. */
  signal?: AbortSignal;
}

/** An event that cannot be read: why, as a dead-letter reason. */
class UnreadableEvent extends Error {
  constructor(
    readonly reason: DeadLetterReason,
    readonly original: Error,
  ) {
    super(original.message);
  }
}

/** Parses, upcasts to the newest schema version and validates (throws UnreadableEvent). */
export function readEvent(raw: RawEvent): ConsumedEvent {
  try {
    const envelope = toEnvelope({
      ...raw,
      payload: raw.payload as Record<string, unknown>,
      occurredAt: new Date(raw.occurredAt),
    });
    return { ...envelope, streamId: raw.streamId, globalPosition: raw.globalPosition, metadata: raw.metadata };
  } catch (err) {
    if (err instanceof UnknownEventTypeError) throw new UnreadableEvent('unknown_type', err);
    if (err instanceof UnknownEventVersionError) throw new UnreadableEvent('unknown_version', err);
    if (err instanceof EventSchemaViolationError) throw new UnreadableEvent('invalid_payload', err);
    throw err;
  }
}

const isKnownType = (type: string): boolean => {
  try {
    eventDefinition(type);
    return true;
  } catch {
    return false;
  }
};

/** A stable id for a message that carries none we can trust, so a redelivery is recognised. */
function malformedId(messageId: string | undefined, text: string): string {
  if (messageId && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(messageId)) return messageId;
  const h = createHash('sha256')
    .update(`${messageId ?? ''}\n${text}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const errorText = (err: unknown): { error: string; stack: string | undefined } => ({
  error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  stack: err instanceof Error ? err.stack : undefined,
});

function letterFor(
  consumer: string,
  raw: RawEvent,
  reason: DeadLetterReason,
  failure: { error: string; stack?: string | undefined },
  attempts: number,
): NewDeadLetter {
  return {
    consumer,
    eventId: raw.eventId,
    streamId: raw.streamId,
    globalPosition: raw.globalPosition,
    eventType: raw.eventType,
    schemaVersion: raw.schemaVersion,
    event: raw,
    reason,
    ...failure,
    attempts,
  };
}

async function deadLetterRaw(
  pool: Pool,
  consumer: string,
  raw: RawEvent,
  reason: DeadLetterReason,
  err: unknown,
  attempts: number,
): Promise<DeliveryOutcome> {
  const { id, status } = await withTransaction(pool, (tx) =>
    recordDeadLetter(tx, letterFor(consumer, raw, reason, errorText(err), attempts)),
  );
  if (id === undefined) return 'duplicate'; // redelivered: its dead letter exists already
  return status === 'parked' ? 'parked' : 'dead_lettered';
}

/**
 * One attempt inside one transaction: inbox claim + the handler's effects. Returns what
 * happened; throws what the handler (or the database) threw, after rolling back.
 */
export async function attemptOnce(
  tx: Tx,
  consumer: ConsumerDefinition,
  raw: RawEvent,
  event: ConsumedEvent,
  options: { ignoreParking?: boolean } = {},
): Promise<DeliveryOutcome> {
  const claim = await claimEvent(tx, consumer.name, raw, options);
  if (claim.claimed) {
    // A replayed dead letter of a type that was unknown then and that this consumer turns out
    // not to handle: recorded as handled with no effect, which releases what is parked behind it.
    if (consumer.handles.has(raw.eventType)) await consumer.handle(event, tx);
    return 'handled';
  }
  if (claim.duplicate) return 'duplicate';
  await recordDeadLetter(
    tx,
    letterFor(consumer.name, raw, 'parked', { error: 'an earlier event of the stream is unresolved' }, 0),
  );
  return 'parked';
}

/**
 * Takes one delivery to its end for one consumer partition: handled (effects committed with
 * the inbox row), a duplicate, skipped (another type or partition), parked behind a dead
 * letter of its stream, or dead-lettered after `maxAttempts`. Database outages are not the
 * event's fault: they are thrown (the runner rewinds and retries) and never counted.
 */
export async function processDelivery(
  pool: Pool,
  consumer: ConsumerDefinition,
  partition: number,
  delivery: Delivery,
  hooks: ProcessHooks = {},
): Promise<DeliveryOutcome> {
  if (delivery.kind === 'malformed') {
    const eventId = malformedId(delivery.messageId, delivery.text);
    const raw: RawEvent = {
      eventId,
      eventType: '(malformed)',
      schemaVersion: 0,
      streamId: '(malformed)',
      streamVersion: 1,
      globalPosition: 0,
      transactionId: '0',
      payload: delivery.text,
      metadata: { messageId: delivery.messageId ?? null },
      occurredAt: new Date().toISOString(),
    };
    // A malformed message belongs to no known stream: it parks nothing else.
    return deadLetterRaw(
      pool,
      consumer.name,
      { ...raw, streamId: `(malformed)-${eventId}` },
      'malformed',
      new Error(delivery.problem),
      1,
    );
  }
  const raw = delivery.event;
  if (isKnownType(raw.eventType) && !consumer.handles.has(raw.eventType)) return 'skipped';
  if (partitionOf(raw.streamId, consumer.partitions) !== partition) return 'skipped';

  let event: ConsumedEvent;
  try {
    event = readEvent(raw);
  } catch (err) {
    if (err instanceof UnreadableEvent) return deadLetterRaw(pool, consumer.name, raw, err.reason, err.original, 1);
    throw err;
  }

  return inConsumeSpan(consumer.name, raw, delivery.traceparent, () => attempts(pool, consumer, raw, event, hooks));
}

/** Attempts with backoff until handled, or dead-lettered after `maxAttempts`. */
async function attempts(
  pool: Pool,
  consumer: ConsumerDefinition,
  raw: RawEvent,
  event: ConsumedEvent,
  hooks: ProcessHooks,
): Promise<DeliveryOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, (tx) => attemptOnce(tx, consumer, raw, event));
    } catch (err) {
      if (isTransientDatabaseError(err)) throw err;
      if (attempt >= consumer.maxAttempts) {
        return deadLetterRaw(pool, consumer.name, raw, 'handler_failed', err, attempt);
      }
      hooks.onRetry?.(consumer.name, attempt, err);
      await pause(backoffDelay(attempt - 1, consumer.backoff), hooks.signal);
      if (hooks.signal?.aborted) throw new Error('consumer stopping');
    }
  }
}
