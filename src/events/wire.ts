import { z } from 'zod';

/**
 * The wire format of an event on a broker: the stored event as JSON. The payload is in the
 * schema version it was stored with (`schemaVersion`); consumers upcast it. Used to read broker
 * messages and to describe them in docs/asyncapi.yaml.
 */
export const wireEventSchema = z.object({
  eventId: z.uuid().describe('Unique id of the event: the message id and the deduplication key.'),
  eventType: z.string().min(1).describe('The event type (the routing key / subject suffix).'),
  schemaVersion: z.number().int().describe('Schema version of `payload`.'),
  streamId: z.string().min(1).describe('`<aggregateType>-<aggregateId>`; order is kept per stream.'),
  streamVersion: z.number().int().positive().describe('Version of the stream this event created (1, 2, …).'),
  globalPosition: z.number().int().nonnegative().describe('Position in the event log.'),
  transactionId: z.string().regex(/^\d+$/).describe('PostgreSQL transaction id (xid8) that committed it.'),
  payload: z.unknown(),
  metadata: z
    .record(z.string(), z.unknown())
    .describe('correlationId, causationId, workflowId, runId, traceparent where known.'),
  occurredAt: z.string().describe('ISO 8601 time of the append.'),
});

/** Headers every broker message carries (the body stays the source of truth). */
export const WIRE_HEADERS = {
  'saga-event-type': 'The event type.',
  'saga-schema-version': 'Schema version of the payload.',
  'saga-stream-id': 'The stream (aggregate) the event belongs to.',
  'saga-stream-version': 'Version of the stream this event created.',
  'saga-correlation-id': 'Id of the request that started the chain (X-Correlation-Id).',
  'saga-causation-id': 'Id of what caused the event: the command id.',
  traceparent: 'W3C trace context of the append, where known.',
} as const;
