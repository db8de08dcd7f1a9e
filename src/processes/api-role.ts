import { buildApp } from '../api/app';
import type { Logger } from '../logger';
import { createPool } from '../store/pool';
import { startTracing } from '../telemetry/tracing';
import { apiDepsOf } from './api-deps';
import { requireDatabaseUrl, type Config } from './config';
import { dataConverterOf } from './payload-keys';
import { drainOnShutdownSignal } from './signals';
import { roleTemporalClient } from './temporal-client';

/** `saga api`: the HTTP API on PORT until SIGTERM, then a drain (readiness 503 first). */
export async function runApiRole(config: Config, logger: Logger): Promise<void> {
  const dataConverter = dataConverterOf(config);
  const pool = createPool(requireDatabaseUrl(config));
  const tracing = startTracing({ serviceName: 'saga-api' });
  // The same keys as the worker's: the API starts, signals and queries sagas, and its /codec decodes for the UI.
  const temporal = await roleTemporalClient(config, dataConverter);
  let draining = false;
  const app = buildApp(apiDepsOf(config, { pool, temporal, logger, draining: () => draining }));
  await app.listen({ port: config.api.port, host: config.api.host });
  // SIGTERM: /health/ready 503 at once while requests are still served for SHUTDOWN_DELAY
  // (a load balancer takes the replica out), then close: no new connections, the requests
  // in flight finish, then Temporal and PostgreSQL are let go.
  drainOnShutdownSignal({
    role: 'api',
    logger,
    delayMs: config.shutdownDelayMs,
    markDraining: () => (draining = true),
    drain: async () => {
      await app.close();
      await temporal.connection.close();
      await pool.end();
      await tracing.shutdown();
    },
  });
}
