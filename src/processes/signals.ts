import type { Logger } from '../logger';
import { pause } from '../util/pause';

/**
 * How long repeated signals count as the same Ctrl-C. A terminal signals the whole process
 * group, and npm and tsx also relay the signal, so one key press arrives several times.
 */
const SAME_PRESS_MS = 1500;

/**
 * The longest a role's drain may take after SHUTDOWN_DELAY before the process gives up and
 * exits 1: a worker's in-flight activities get 10 s (its `shutdownGraceTime`), an API request
 * at most about 10 s (a cancel waiting for compensation), a relay one batch, a consumer one
 * delivery. Past this something hangs (a broker that answers nothing): an orchestrator would
 * SIGKILL the process anyway, and what it had not finished is taken up again elsewhere.
 * A role's stop grace period (docker-compose `stop_grace_period`, Kubernetes
 * `terminationGracePeriodSeconds`) must cover SHUTDOWN_DELAY + this.
 */
export const DRAIN_LIMIT_MS = 20_000;

/** The drain did not finish within its limit (the process exits 1). */
export class DrainTimeoutError extends Error {
  override readonly name = 'DrainTimeoutError';
}

/**
 * Calls `shutdown` once on SIGINT/SIGTERM and exits 0 when it resolves, 1 when it rejects;
 * pressing Ctrl-C again (later than the relayed copies of the first press) exits at once.
 * Returns a function that removes the handlers.
 */
export function onShutdownSignal(shutdown: (signal: NodeJS.Signals) => Promise<void>): () => void {
  let firstAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < SAME_PRESS_MS) return;
      process.stderr.write('Forced exit.\n');
      process.exit(130);
    }
    firstAt = Date.now();
    shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(
          err instanceof DrainTimeoutError ? `${err.message}\n` : `Shutdown failed: ${(err as Error).stack ?? err}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

export interface DrainOptions {
  /** The role (`worker`, `api`, `relay`, `consume`), named in the log lines. */
  role: string;
  logger: Pick<Logger, 'info' | 'error'>;
  /** SHUTDOWN_DELAY: how long the role keeps working, not ready, before it drains. */
  delayMs: number;
  /** Turns /health/ready to 503; called first, when the signal arrives. */
  markDraining(): void;
  /** Stops taking work, finishes what is in flight, closes the role's connections. */
  drain(): Promise<void>;
  /** Longest `drain` before giving up. Default DRAIN_LIMIT_MS. */
  limitMs?: number;
}

/**
 * The shutdown of a role, one sequence for all: not ready at once (503), keep working for
 * `delayMs` so whatever routes to the role notices, then drain, bounded by `limitMs`
 * (DrainTimeoutError past it, logged). Resolves once drained.
 */
export async function drainRole(signal: NodeJS.Signals, options: DrainOptions): Promise<void> {
  const { logger, role } = options;
  const limitMs = options.limitMs ?? DRAIN_LIMIT_MS;
  options.markDraining();
  logger.info(
    { signal, role, shutdownDelayMs: options.delayMs, drainLimitMs: limitMs },
    options.delayMs > 0
      ? `draining: /health/ready answers 503; still working for ${options.delayMs} ms (SHUTDOWN_DELAY), then stopping`
      : 'draining: /health/ready answers 503; stopping',
  );
  if (options.delayMs > 0) await pause(options.delayMs);
  logger.info({ role }, 'stopping: finishing the work in flight');
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const message = `saga ${role}: the drain did not finish within ${limitMs / 1000} s; exiting 1 with work possibly unfinished`;
      logger.error({ role, drainLimitMs: limitMs }, message);
      reject(new DrainTimeoutError(message));
    }, limitMs);
  });
  try {
    await Promise.race([options.drain(), limit]);
  } finally {
    clearTimeout(timer);
  }
  logger.info({ role, drainMs: Date.now() - started }, 'stopped');
}

/**
 * SIGTERM/SIGINT for a long-running role: `drainRole`, then exit 0 (1 when the drain fails
 * or passes its limit). A second Ctrl-C still forces the exit.
 */
export function drainOnShutdownSignal(options: DrainOptions): () => void {
  return onShutdownSignal((signal) => drainRole(signal, options));
}
