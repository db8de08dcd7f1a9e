import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { runWithCorrelation } from './context';
import { correlationFromHeaders } from './temporal-headers';

/** Runs each activity inside the correlation its workflow sent as headers. */
export const correlationActivityInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    execute(input, next) {
      const correlation = correlationFromHeaders(input.headers);
      const workflowId = ctx.info.workflowExecution?.workflowId;
      return correlation ? runWithCorrelation({ ...correlation, workflowId }, () => next(input)) : next(input);
    },
  },
});
