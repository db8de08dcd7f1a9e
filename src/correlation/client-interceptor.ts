import type { WorkflowClientInterceptor } from '@temporalio/client';
import { currentCorrelation } from './context';
import { withCorrelationHeaders } from './temporal-headers';

/**
 * Adds the ambient correlation (set per HTTP request) as headers to every workflow start,
 * signal and update the client sends.
 */
export function correlationClientInterceptor(): WorkflowClientInterceptor {
  const add = <T extends { headers: Parameters<typeof withCorrelationHeaders>[0] }>(input: T): T => ({
    ...input,
    headers: withCorrelationHeaders(input.headers, currentCorrelation()),
  });
  return {
    start: (input, next) => next(add(input)),
    startWithDetails: (input, next) => next(add(input)),
    signal: (input, next) => next(add(input)),
    signalWithStart: (input, next) => next(add(input)),
    startUpdate: (input, next) => next(add(input)),
    startUpdateWithStart: (input, next) =>
      next({
        ...input,
        workflowStartHeaders: withCorrelationHeaders(input.workflowStartHeaders, currentCorrelation()),
        updateHeaders: withCorrelationHeaders(input.updateHeaders, currentCorrelation()),
      }),
  };
}
