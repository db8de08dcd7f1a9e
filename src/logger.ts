import pino, { type Logger } from 'pino';
import { currentCorrelation } from './correlation/context';

export type { Logger };

/** One logger per process; children add a `component` field. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'saga' },
    // Every line written while handling a request, workflow task or activity names its chain.
    mixin: () => {
      const correlation = currentCorrelation();
      return correlation ? { correlationId: correlation.correlationId } : {};
    },
  });
}
