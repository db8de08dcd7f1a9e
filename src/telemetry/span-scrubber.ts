import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { isPersonalKey } from '../util/personal-data';

type Attributes = ReadableSpan['attributes'];

const isAttributeValue = (v: unknown): boolean =>
  v === null ||
  v === undefined ||
  ['string', 'number', 'boolean'].includes(typeof v) ||
  (Array.isArray(v) &&
    v.every((x) => x === null || x === undefined || ['string', 'number', 'boolean'].includes(typeof x)));

/**
 * What a span may say: attributes named after a personal field go, and so do values that are
 * not OpenTelemetry attribute values (primitives or arrays of them). The Temporal worker's
 * workflow span exporter copies the whole WorkflowInfo into every workflow span, search
 * attributes (the customer id) and memo included, as nested objects.
 */
export function scrubAttributes(attributes: Attributes): Attributes {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (!isPersonalKey(key) && isAttributeValue(value)) kept[key] = value;
  }
  return kept as Attributes;
}

const scrubbed = (span: ReadableSpan): ReadableSpan =>
  Object.create(span, {
    attributes: { value: scrubAttributes(span.attributes), enumerable: true },
    events: {
      value: span.events.map((e) => (e.attributes ? { ...e, attributes: scrubAttributes(e.attributes) } : e)),
      enumerable: true,
    },
    links: {
      value: span.links.map((l) => (l.attributes ? { ...l, attributes: scrubAttributes(l.attributes) } : l)),
      enumerable: true,
    },
  }) as ReadableSpan;

/** A span processor that hands `next` every ended span without personal data. */
export function withoutPersonalData(next: SpanProcessor): SpanProcessor {
  return {
    onStart: (span: Span, parent: Context) => next.onStart(span, parent),
    onEnd: (span: ReadableSpan) => next.onEnd(scrubbed(span)),
    forceFlush: () => next.forceFlush(),
    shutdown: () => next.shutdown(),
  };
}
