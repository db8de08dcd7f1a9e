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
export function installTemporalRuntime(logger: Logger, options: { metricsPort?: number } = {}): void {
  if (installed) return;
  Runtime.install({
    logger: toTemporalLogger(logger.child({ component: 'temporal' })),
    shutdownSignals: [],
    // The SDK's worker metrics (task slots, poll and schedule-to-start latency) in Prometheus
    // text on loopback; `saga worker` serves them on its own /metrics (`sdkMetricsText`).
    ...(options.metricsPort
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: `127.0.0.1:${options.metricsPort}`,
                countersTotalSuffix: true,
                useSecondsForDurations: true,
              },
            },
          },
        }
      : {}),
  });
  installed = true;
}

/** The SDK's Prometheus text from its loopback exporter. */
export async function sdkMetricsText(metricsPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(2000) });
  return res.ok ? res.text() : '';
}
