import { wireEventSchema, type WIRE_HEADERS } from '../events/wire';
import type { RawEvent } from '../outbox/reader';
import type { Delivery } from './transport';

/** Broker messages carry the stored event as JSON; headers repeat what routing needs. */
export function encodeEvent(event: RawEvent): Buffer {
  return Buffer.from(JSON.stringify(event));
}

/** Reads a message body; anything that is not a stored event becomes a `malformed` delivery. */
export function decodeMessage(
  body: Buffer | Uint8Array,
  messageId: string | undefined,
  traceparent?: string,
): Delivery {
  const text = Buffer.from(body).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'malformed', messageId, text, problem: 'message body is not JSON' };
  }
  const parsed = wireEventSchema.safeParse(json);
  if (!parsed.success) {
    const problem = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ');
    return { kind: 'malformed', messageId, text, problem: `message is not an event envelope: ${problem}` };
  }
  return { kind: 'event', event: parsed.data as RawEvent, ...(traceparent ? { traceparent } : {}) };
}

/** Headers every broker message carries (the body stays the source of truth). */
export function eventHeaders(
  event: RawEvent,
  traceparent = typeof event.metadata.traceparent === 'string' ? event.metadata.traceparent : undefined,
): Partial<Record<keyof typeof WIRE_HEADERS, string>> {
  const meta = event.metadata;
  return {
    'saga-event-type': event.eventType,
    'saga-schema-version': String(event.schemaVersion),
    'saga-stream-id': event.streamId,
    'saga-stream-version': String(event.streamVersion),
    ...(typeof meta.correlationId === 'string' ? { 'saga-correlation-id': meta.correlationId } : {}),
    ...(typeof meta.causationId === 'string' ? { 'saga-causation-id': meta.causationId } : {}),
    ...(traceparent ? { traceparent } : {}),
  };
}

/** The partition of a stream: FNV-1a of its id, so every transport and process agrees. */
export function partitionOf(streamId: string, partitions: number): number {
  if (partitions <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < streamId.length; i++) {
    hash ^= streamId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}
