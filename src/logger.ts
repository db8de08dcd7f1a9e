import { trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { currentCorrelation } from './correlation/context';
import { isPersonalKey, PERSONAL_FIELDS, showsPersonalData } from './util/personal-data';

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

/**
 * Redacted at any depth up to four levels (an input inside an error's details): pino's paths
 * have no "any depth" wildcard.
 */
const REDACT_DEPTH = 4;

/** pino `redact` paths for every personal field at depths 0 … REDACT_DEPTH - 1. */
export function personalDataPaths(): string[] {
  return PERSONAL_FIELDS.flatMap((field) =>
    Array.from({ length: REDACT_DEPTH }, (_, depth) => `${'*.'.repeat(depth)}["${field}"]`.replace('.[', '[')),
  );
}

const CENSOR = '[redacted]';

/** `url` with the values of personal query parameters (`?customerId=…`) censored. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const personal = [...new Set(params.keys())].filter(isPersonalKey);
  if (personal.length === 0) return url;
  for (const key of personal) params.set(key, CENSOR);
  return `${url.slice(0, q)}?${params.toString()}`;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}

/**
 * Fastify's request serializer (it takes a logger's own over its default) with the query's
 * personal values censored: a request line would otherwise carry `GET /orders?customerId=…`.
 */
const requestSerializer = (req: LoggedRequest) => ({
  method: req.method,
  url: typeof req.url === 'string' ? redactQuery(req.url) : req.url,
  version: req.headers?.['accept-version'],
  host: req.host,
  remoteAddress: req.ip,
  remotePort: req.socket?.remotePort,
});

export interface LoggerSettings {
  /** Log personal fields unredacted. Default: `LOG_PERSONAL_DATA=true`. */
  personalData?: boolean;
}

/** One logger per process; children add a `component` field. */
export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  /** Where JSON lines go (tests). Default stdout, pretty on a terminal. */
  destination?: DestinationStream,
  settings: LoggerSettings = {},
): Logger {
  const personalData = settings.personalData ?? showsPersonalData();
  const options: LoggerOptions = {
    level,
    base: { service: 'saga' },
    mixin: context,
    ...(personalData
      ? {}
      : { redact: { paths: personalDataPaths(), censor: CENSOR }, serializers: { req: requestSerializer } }),
  };
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
