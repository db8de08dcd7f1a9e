/**
 * How long repeated signals count as the same Ctrl-C. A terminal signals the whole process
 * group, and npm and tsx also relay the signal, so one key press arrives several times.
 */
const SAME_PRESS_MS = 1500;

/**
 * Calls `shutdown` once on SIGINT/SIGTERM; pressing Ctrl-C again (later than the relayed
 * copies of the first press) exits at once. Returns a function that removes the handlers.
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
        process.stderr.write(`Shutdown failed: ${(err as Error).stack ?? err}\n`);
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
