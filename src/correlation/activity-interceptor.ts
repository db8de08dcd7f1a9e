import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { runWithCorrelation } from './context';
import { correlationFromHeaders } from './temporal-headers';

/** Runs each activity inside the correlation its workflow sent as headers. */
export const correlationActivityInterceptor: ActivityInterceptorsFactory = () => ({
  inbound: {
    execute(input, next) {
      const correlation = correlationFromHeaders(input.headers);
      return correlation ? runWithCorrelation(correlation, () => next(input)) : next(input);
    },
  },
});
