import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowStartOptions } from '@temporalio/client';
import { ConflictError } from './errors';

/** What a workflow started from the API remembers of its request. */
interface StartMemo {
  correlationId?: string;
  requestHash?: string;
}

/**
 * Starts a workflow at most once per workflow id (derived from an Idempotency-Key): a repeat
 * with the same request answers with the first start's correlation id and starts nothing; the
 * same key with another request body is a 409.
 */
export async function startOnce(
  client: Client,
  workflowType: string,
  options: WorkflowStartOptions & { workflowId: string },
  request: { correlationId: string; requestHash: string },
): Promise<{ correlationId: string; started: boolean }> {
  try {
    await client.workflow.start(workflowType, {
      ...options,
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      memo: { ...options.memo, ...request } satisfies StartMemo,
    });
    return { correlationId: request.correlationId, started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const existing = await client.workflow.getHandle(options.workflowId).describe();
    const memo = (existing.memo ?? {}) as StartMemo;
    if (memo.requestHash !== request.requestHash) {
      throw new ConflictError('Idempotency-Key was already used with a different request body');
    }
    return { correlationId: memo.correlationId ?? request.correlationId, started: false };
  }
}
