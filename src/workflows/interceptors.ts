import { defineQuery, log, setHandler, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type { Correlation } from '../correlation/correlation';
import { correlationFromHeaders, withCorrelationHeaders } from '../correlation/temporal-headers';

export interface CorrelationTrail {
  /** The run's own correlation id, stamped on everything it sends. */
  correlationId: string | null;
  /** Signals and updates received, with their sender's correlation id. */
  received: { kind: 'signal' | 'update'; name: string; correlationId: string }[];
}

/** Diagnostic query on every workflow: which correlation ids reached this run. */
export const correlationsQuery = defineQuery<CorrelationTrail>('correlations');

/**
 * Workflow interceptors (one instance per workflow run): the correlation id arrives as a
 * header on the start (falling back to the input's `correlationId` for runs started without
 * one, e.g. from the Temporal CLI) and leaves as a header on every activity, child workflow
 * and signal the workflow sends. Signals and updates carry their sender's correlation id,
 * logged next to the saga's.
 */
export const interceptors: WorkflowInterceptorsFactory = () => {
  let correlation: Correlation | undefined;
  const received: CorrelationTrail['received'] = [];
  const note = (kind: 'signal' | 'update', name: string, headers: Parameters<typeof correlationFromHeaders>[0]) => {
    const sender = correlationFromHeaders(headers);
    if (!sender) return;
    received.push({ kind, name, correlationId: sender.correlationId });
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
          setHandler(correlationsQuery, () => ({ correlationId: correlation?.correlationId ?? null, received }), {
            description: 'The correlation id of this run and of every signal and update it received.',
          });
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
