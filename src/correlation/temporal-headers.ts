import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import { CAUSATION_HEADER, CORRELATION_HEADER, type Correlation } from './correlation';

// Deterministic and sandbox-safe: used by the workflow interceptors as well.

export function withCorrelationHeaders(headers: Headers, correlation: Correlation | undefined): Headers {
  if (!correlation) return headers;
  return {
    ...headers,
    [CORRELATION_HEADER]: defaultPayloadConverter.toPayload(correlation.correlationId),
    ...(correlation.causationId
      ? { [CAUSATION_HEADER]: defaultPayloadConverter.toPayload(correlation.causationId) }
      : {}),
  };
}

export function correlationFromHeaders(headers: Headers | undefined): Correlation | undefined {
  const correlation = headers?.[CORRELATION_HEADER];
  if (!correlation) return undefined;
  const causation = headers?.[CAUSATION_HEADER];
  return {
    correlationId: defaultPayloadConverter.fromPayload<string>(correlation),
    ...(causation ? { causationId: defaultPayloadConverter.fromPayload<string>(causation) } : {}),
  };
}
