import { trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { currentCorrelation } from './correlation/context';

export type { Logger };

/** What every line carries where known: correlation, trace, order and workflow ids. */
function context(): Record<string, string> {
  const out: Record<string, string> = {};
  const correlation = currentCorrelation();
  if (correlation) {
    out.correlationId = correlation.correlationId;
    if (correlation.workflowId) {
      out.workflowId = correlation.workflowId;
      const order = /^order-(.+)$/.exec(correlation.workflowId);
      if (order) out.orderId = order[1]!;
    }
  }
  // Only while tracing is on is there an active span (otherwise the API's no-op answers undefined).
  const span = trace.getActiveSpan()?.spanContext();
  if (span) {
    out.traceId = span.traceId;
    out.spanId = span.spanId;
  }
  return out;
}

/**
 * `LOG_FORMAT`: `json` (one object per line, for collectors), `pretty` (coloured, one line per
 * entry), or unset: pretty when the output is a terminal, JSON otherwise.
 */
export function wantsPrettyLogs(env: NodeJS.ProcessEnv = process.env, isTty = Boolean(process.stdout.isTTY)): boolean {
  return env.LOG_FORMAT === 'pretty' || (env.LOG_FORMAT !== 'json' && isTty);
}

/** One logger per process; children add a `component` field. */
export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  /** Where JSON lines go (tests). Default stdout, pretty on a terminal. */
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = { level, base: { service: 'saga' }, mixin: context };
  if (destination) return pino(options, destination);
  if (!wantsPrettyLogs()) return pino(options);
  return pino({
    ...options,
    transport: {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true },
    },
  });
}
