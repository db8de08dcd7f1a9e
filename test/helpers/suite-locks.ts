/**
 * Suite locks (test/helpers/suite-environment.js): jest runs test files side by side. Call
 * these at the top level of a test file.
 */
type Declared = { exclusive: string[]; shared: string[] };
const declared = (): Declared => {
  const g = globalThis as { __sagaSuiteLocks?: Declared };
  return (g.__sagaSuiteLocks ??= { exclusive: [], shared: [] });
};

/**
 * Runs this file alone with respect to `resources`: `rabbitmq` and `dist` (held shared by every
 * integration file), no other file runs meanwhile; any other name, no other file naming it.
 */
export function exclusively(...resources: string[]): void {
  declared().exclusive.push(...resources);
}

/** Keeps `resources` from being taken exclusively while this file runs (a unit file reading dist/). */
export function sharing(...resources: string[]): void {
  declared().shared.push(...resources);
}
