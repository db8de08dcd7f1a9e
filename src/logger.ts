import pino, { type Logger } from 'pino';

export type { Logger };

/** One logger per process; children add a `component` field. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'saga' } });
}
