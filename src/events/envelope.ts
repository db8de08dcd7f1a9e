import type { StoredEvent } from '../store/event-store';
import { upcastToLatest } from './catalog';

/** The public shape of an event (DESIGN.md §3), as the API and consumers see it. */
export interface EventEnvelope {
  eventId: string;
  eventType: string;
  aggregateId: string;
  aggregateType: string;
  occurredAt: string;
  /** Version of the aggregate's stream this event created. */
  version: number;
  schemaVersion: number;
  correlationId: string | null;
  causationId: string | null;
  payload: Record<string, unknown>;
}

/** Streams are named `<aggregateType>-<aggregateId>`. */
export function parseStreamId(streamId: string): { aggregateType: string; aggregateId: string } {
  const dash = streamId.indexOf('-');
  return dash < 0
    ? { aggregateType: streamId, aggregateId: streamId }
    : { aggregateType: streamId.slice(0, dash), aggregateId: streamId.slice(dash + 1) };
}

/** The envelope of a stored event with its payload upcast to the newest schema version. */
export function toEnvelope(event: StoredEvent): EventEnvelope {
  const { schemaVersion, payload } = upcastToLatest(event.eventType, event.schemaVersion, event.payload);
  return {
    eventId: event.eventId,
    eventType: event.eventType,
    ...parseStreamId(event.streamId),
    occurredAt: event.occurredAt.toISOString(),
    version: event.streamVersion,
    schemaVersion,
    correlationId: event.metadata.correlationId ?? null,
    causationId: event.metadata.causationId ?? null,
    payload,
  };
}
