import type { DataConverter } from '@temporalio/common';
import { createTemporalClient, type TemporalClientOptions } from '../temporal/client';
import { temporalConnectOptions } from '../temporal/connect-options';
import type { Config } from './config';

/**
 * A role's Temporal client: the configured target (address, TLS, API key, namespace) and the
 * payload codec, so what it starts, signals and reads is encrypted as the worker's is.
 */
export function roleTemporalClient(config: Config, dataConverter: DataConverter) {
  const target = temporalConnectOptions(config.temporal);
  return createTemporalClient({
    address: target.connection.address,
    namespace: target.namespace,
    connection: target.connection as TemporalClientOptions['connection'],
    dataConverter,
  });
}
