import { wireEventSchema, type WIRE_HEADERS } from '../../events/wire';
import type { RawEvent } from '../contract';
import type { Delivery } from '../contract';

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

/**
 * Streams are spread over 64 routing buckets (FNV-1a of the stream id), and a consumer with
 * `n` partitions takes bucket % n: every transport and process agrees, and a broker can route
 * each partition only its own buckets (see `partitionPatterns`).
 */
export const ROUTING_BUCKETS = 64;
const BUCKET_BITS = 6;

/** The routing bucket of a stream (0..63). */
export function bucketOf(streamId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < streamId.length; i++) {
    hash ^= streamId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % ROUTING_BUCKETS;
}

/** The partition of a stream among `partitions` (1..64). */
export function partitionOf(streamId: string, partitions: number): number {
  return partitions <= 1 ? 0 : bucketOf(streamId) % partitions;
}

const bits = (value: number, count: number): string[] =>
  Array.from({ length: count }, (_, i) => String((value >> i) & 1));

/**
 * A stream's bucket as six routing-key words, lowest bit first (`1.0.1.1.0.0`): the words
 * that lead each message's routing key (RabbitMQ) or subject (NATS).
 */
export const bucketWords = (streamId: string): string => bits(bucketOf(streamId), BUCKET_BITS).join('.');

/** Whether partition counts of this size are one word-prefix each (powers of two). */
export const isPrefixRoutable = (partitions: number): boolean => (partitions & (partitions - 1)) === 0;

/**
 * The bucket-word patterns of one partition, `*` for any word. A power-of-two count needs one
 * pattern (its partition's low bits, then wildcards: `1.1.*.*.*.*` is partition 3 of 4);
 * any other count lists its buckets one by one.
 */
export function partitionPatterns(partition: number, partitions: number): string[] {
  if (isPrefixRoutable(partitions)) {
    const fixed = Math.log2(partitions);
    return [[...bits(partition, fixed), ...Array<string>(BUCKET_BITS - fixed).fill('*')].join('.')];
  }
  const patterns: string[] = [];
  for (let b = partition; b < ROUTING_BUCKETS; b += partitions) patterns.push(bits(b, BUCKET_BITS).join('.'));
  return patterns;
}
