import { Runtime, type Logger as TemporalLogger, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { Logger } from '../logger';

let installed = false;

/** Adapts pino to the SDK's logger interface. */
function toTemporalLogger(logger: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const method = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    logger[method]({ ...meta }, message);
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}

/**
 * Installs the Temporal runtime once per process: logs go through pino, and the SDK does
 * NOT handle SIGINT/SIGTERM itself, so our shutdown can stop things in order.
 */
export function installTemporalRuntime(logger: Logger): void {
  if (installed) return;
  Runtime.install({ logger: toTemporalLogger(logger.child({ component: 'temporal' })), shutdownSignals: [] });
  installed = true;
}
