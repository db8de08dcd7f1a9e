/** Exponential backoff with full jitter: a random delay in [0, min(max, initial·2^attempt)]. */
export function backoffDelay(attempt: number, options: { initialMs: number; maxMs: number }): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}
