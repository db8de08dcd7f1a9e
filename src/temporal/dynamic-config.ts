import { stringify } from 'yaml';

/**
 * Temporal server dynamic config our servers run with: the dev server passes it as
 * `--dynamic-config-value` flags, the real server (`saga cluster up`) reads it from a file
 * (`dynamicConfigClient.filepath`), and docker-compose.yml mounts
 * deploy/temporal/dynamicconfig.yaml (a unit test keeps that file equal to this set).
 * Both settings measured in `npm run bench -- --scenario sagas` (and `cluster`):
 * - The history service reads its transfer queue (every workflow and activity task passes
 *   through it on the way to matching) at most 20 times a second per shard by default: once
 *   sagas overlap (about 20 tasks/s, two sagas a second) every task waited for the next read,
 *   which tripled a saga's latency on the dev server's single shard.
 * - Eager activities: a workflow task's completion hands the next activity straight back to
 *   the worker that scheduled it (the SDK asks for it by default), instead of a round trip
 *   through matching and an activity poller. Retries and timeouts stay with the server.
 */
export const TEMPORAL_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = {
  'history.transferProcessorMaxPollRPS': 1000,
  'system.enableActivityEagerExecution': true,
};

/** `values` in the server's dynamic config file format: each key a list of (unconstrained) values. */
export function dynamicConfigYaml(values: Readonly<Record<string, unknown>>): string {
  return stringify(Object.fromEntries(Object.entries(values).map(([key, value]) => [key, [{ value }]])));
}
