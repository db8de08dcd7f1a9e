import { log, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type { Correlation } from '../correlation/correlation';
import { correlationFromHeaders, withCorrelationHeaders } from '../correlation/temporal-headers';

/**
 * Workflow interceptors (one instance per workflow run): the correlation id arrives as a
 * header on the start (falling back to the input's `correlationId` for runs started without
 * one, e.g. from the Temporal CLI) and leaves as a header on every activity, child workflow
 * and signal the workflow sends. Signals and updates carry their sender's correlation id,
 * logged next to the saga's.
 */
export const interceptors: WorkflowInterceptorsFactory = () => {
  let correlation: Correlation | undefined;
  const note = (kind: string, name: string, headers: Parameters<typeof correlationFromHeaders>[0]) => {
    const sender = correlationFromHeaders(headers);
    if (sender)
      log.info(`${kind} ${name}`, {
        correlationId: correlation?.correlationId,
        senderCorrelationId: sender.correlationId,
      });
  };
  return {
    inbound: [
      {
        execute(input, next) {
          const fromArgs = (input.args[0] as { correlationId?: unknown } | undefined)?.correlationId;
          correlation =
            correlationFromHeaders(input.headers) ??
            (typeof fromArgs === 'string' ? { correlationId: fromArgs } : undefined);
          return next(input);
        },
        handleSignal(input, next) {
          note('signal', input.signalName, input.headers);
          return next(input);
        },
        handleUpdate(input, next) {
          note('update', input.name, input.headers);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) =>
          next({ ...input, headers: withCorrelationHeaders(input.headers, correlation) }),
        scheduleLocalActivity: (input, next) =>
          next({ ...input, headers: withCorrelationHeaders(input.headers, correlation) }),
        startChildWorkflowExecution: (input, next) =>
          next({ ...input, headers: withCorrelationHeaders(input.headers, correlation) }),
        signalWorkflow: (input, next) =>
          next({ ...input, headers: withCorrelationHeaders(input.headers, correlation) }),
      },
    ],
  };
};
