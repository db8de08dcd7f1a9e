import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

/**
 * How the worker, the API and the CLI reach Temporal, following the SDK's environment
 * configuration (`@temporalio/envconfig`): `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`,
 * `TEMPORAL_API_KEY` (Temporal Cloud), `TEMPORAL_TLS*` (TLS and mTLS files or data),
 * `TEMPORAL_GRPC_META_*`, and profiles from a TOML file (`TEMPORAL_CONFIG_FILE`,
 * `TEMPORAL_PROFILE`). What none of those sets falls back to the project's defaults.
 */
export interface TemporalConnectOptions {
  connection: NativeConnectionOptions & { address: string };
  namespace: string;
}

export function temporalConnectOptions(
  defaults: { address: string; namespace: string },
  env: NodeJS.ProcessEnv = process.env,
): TemporalConnectOptions {
  const loaded = loadClientConnectConfig({
    overrideEnvVars: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
  });
  return {
    connection: { ...loaded.connectionOptions, address: loaded.connectionOptions.address ?? defaults.address },
    namespace: loaded.namespace ?? defaults.namespace,
  };
}
