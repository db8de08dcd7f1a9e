import { AsyncLocalStorage } from 'node:async_hooks';
import type { Correlation } from './correlation';

export type { Correlation } from './correlation';
export { CAUSATION_HEADER, CORRELATION_HEADER } from './correlation';

const storage = new AsyncLocalStorage<Correlation>();

/** Runs `fn` with `correlation` as the ambient context (logs, outgoing Temporal calls, events). */
export function runWithCorrelation<T>(correlation: Correlation, fn: () => T): T {
  return storage.run(correlation, fn);
}

/** Makes `correlation` ambient for the rest of the current async flow (e.g. an HTTP request). */
export function enterCorrelation(correlation: Correlation): void {
  storage.enterWith(correlation);
}

export function currentCorrelation(): Correlation | undefined {
  return storage.getStore();
}
