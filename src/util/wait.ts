import { setTimeout as sleep } from 'node:timers/promises';

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

export interface WaitOptions {
  /** Give up after this long. Default 30 s. */
  timeoutMs?: number;
  /** Pause between checks. Default 100 ms. */
  intervalMs?: number;
  /** Names what was awaited in the timeout message. */
  description?: string;
}

/**
 * Polls `check` until it returns a value other than false/undefined/null, or the deadline
 * passes. Errors thrown by `check` propagate immediately (they mean "stop waiting").
 */
export async function waitFor<T>(
  check: () => Promise<T | false | undefined | null> | T | false | undefined | null,
  options: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined && value !== null) return value;
    if (Date.now() > deadline) {
      throw new WaitTimeoutError(`Timed out waiting for ${options.description ?? 'a condition'}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}
