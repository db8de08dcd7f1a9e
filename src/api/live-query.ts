import type { Client, QueryDefinition } from '@temporalio/client';

/**
 * How long a page waits for one saga's live state by default. A query needs the saga's worker:
 * while it is down (an outage, a deploy, a saga of a worker that is gone) the query would wait
 * for the whole request, so pages built from many sagas (what needs attention) or many parts
 * (an order's story) take what the saga said within this time, and otherwise what the
 * visibility index or the events say.
 */
export const LIVE_STATE_WAIT_MS = 3000;

/** The saga's answer to `query` within `waitMs`, else null (no worker, no such workflow, an error). */
export function queryWithin<T>(
  temporal: Client,
  workflowId: string,
  query: QueryDefinition<T>,
  waitMs = LIVE_STATE_WAIT_MS,
): Promise<T | null> {
  return temporal
    .withDeadline(Date.now() + waitMs, () => temporal.workflow.getHandle(workflowId).query(query))
    .catch(() => null);
}
