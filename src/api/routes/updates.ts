import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Identity } from '../auth';
import { ConflictError, NotFoundError } from '../errors';

/** Sending updates to a saga (orders and returns alike). */

/** The name recorded for the caller, when it has one (an API key). */
export const actingName = (identity: Identity | undefined): string | undefined =>
  identity && identity.role !== 'anonymous' ? identity.name : undefined;

/** Turns update/workflow errors into 404 (no such order) or 409 (the saga refused, or has finished). */
export async function runUpdate<T>(
  handle: WorkflowHandle,
  orderId: string,
  call: () => Promise<T>,
  what = 'order',
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new ConflictError(err.cause?.message ?? err.message);
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    // The server answers "not found" both for an unknown workflow and for a closed one.
    const description = await handle.describe().catch((e: unknown) => {
      if (e instanceof WorkflowNotFoundError) throw new NotFoundError(`No ${what} ${orderId}`);
      throw e;
    });
    throw new ConflictError(`The ${what}'s saga has already finished (${description.status.name})`);
  }
}

/** The result if it settles within `ms`, else null (the caller answers 202; the work goes on). */
export function settleWithin<T>(result: Promise<T>, ms: number): Promise<T | null> {
  result.catch(() => undefined); // still awaited below; never an unhandled rejection after a 202
  let timer: NodeJS.Timeout | undefined;
  const stillRunning = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return Promise.race([result, stillRunning]).finally(() => clearTimeout(timer));
}
