/**
 * Suite locks (test/helpers/suite-environment.js): jest runs test files side by side. Call
 * these at the top level of a test file.
 */
type Declared = { exclusive: string[] };
const declared = (): Declared => {
  const g = globalThis as { __sagaSuiteLocks?: Declared };
  return (g.__sagaSuiteLocks ??= { exclusive: [] });
};

/**
 * Runs this file alone with respect to `resources`: `rabbitmq` (held shared by every integration
 * file), no other file runs meanwhile; any other name, no other file naming it.
 */
export function exclusively(...resources: string[]): void {
  declared().exclusive.push(...resources);
}
