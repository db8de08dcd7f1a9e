import { context, SpanKind, SpanStatusCode, trace, type Link, type Span } from '@opentelemetry/api';
import type { RawEvent } from './contract';
import { contextOf, tracer, tracingEnabled } from '../telemetry/tracing';

/**
 * Spans of the delivery path. The relay's publish span is a child of the span that appended
 * the event (its `traceparent` in the event's metadata) and travels in the message headers;
 * each consumer's span continues from that header (or, reading the log directly, from the
 * event's own traceparent) and links to the append, so one order's trace runs from the HTTP
 * request to every consumer.
 */

const attributes = (event: RawEvent) => ({
  'messaging.message.id': event.eventId,
  'messaging.destination.name': event.eventType,
  'saga.stream_id': event.streamId,
  'saga.stream_version': event.streamVersion,
  ...(typeof event.metadata.correlationId === 'string' ? { 'saga.correlation_id': event.metadata.correlationId } : {}),
});

const traceparentOf = (event: RawEvent) =>
  typeof event.metadata.traceparent === 'string' ? event.metadata.traceparent : undefined;

export interface PublishSpans {
  /** eventId → the publish span's traceparent, for the message headers (undefined: tracing off). */
  traceparents: ReadonlyMap<string, string> | undefined;
  /** Ends every span once the broker confirmed the batch (or refused it). */
  end(error?: unknown): void;
}

export function publishSpans(events: readonly RawEvent[], system: string): PublishSpans {
  if (!tracingEnabled()) return { traceparents: undefined, end: () => undefined };
  const spans: Span[] = [];
  const traceparents = new Map<string, string>();
  for (const event of events) {
    const span = tracer().startSpan(
      `publish ${event.eventType}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: { ...attributes(event), 'messaging.system': system, 'messaging.operation.type': 'publish' },
      },
      contextOf(traceparentOf(event)),
    );
    spans.push(span);
    const { traceId, spanId, traceFlags } = span.spanContext();
    traceparents.set(event.eventId, `00-${traceId}-${spanId}-0${traceFlags.toString(16)}`);
  }
  return {
    traceparents,
    end(error) {
      for (const span of spans) {
        if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        span.end();
      }
    },
  };
}

/**
 * Runs one consumer's handling of one event inside a CONSUMER span: parented by the message's
 * traceparent (the publish span) or the event's own, linked to the append. `fn` returns the
 * outcome, recorded on the span.
 */
export async function inConsumeSpan<T extends string>(
  consumer: string,
  event: RawEvent,
  delivered: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return fn();
  const appended = traceparentOf(event);
  const links: Link[] = [];
  const appendContext = appended ? trace.getSpanContext(contextOf(appended)) : undefined;
  if (appendContext && delivered && delivered !== appended) links.push({ context: appendContext });
  const span = tracer().startSpan(
    `consume ${consumer} ${event.eventType}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: { ...attributes(event), 'messaging.operation.type': 'process', 'saga.consumer': consumer },
      links,
    },
    contextOf(delivered ?? appended),
  );
  try {
    const outcome = await context.with(trace.setSpan(context.active(), span), fn);
    span.setAttribute('saga.outcome', outcome);
    return outcome;
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}
