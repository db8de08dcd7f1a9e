import { Registry } from 'prom-client';
import type { ConsumerDefinition } from '../delivery/consumer';
import { startDelivery } from '../delivery/start';
import { transportSettings } from '../delivery/transport-factory';
import type { Logger } from '../logger';
import { createPool } from '../store/pool';
import { startTracing } from '../telemetry/tracing';
import { requireDatabaseUrl, type Config } from './config';
import { startProbeServer } from './probe-server';
import { drainOnShutdownSignal } from './signals';
import { registeredConsumers } from './plugins';

/** Runs the relay and/or consumers of this process until SIGINT/SIGTERM, then drains and stops. */
export async function runDeliveryRole(
  config: Config,
  logger: Logger,
  roles: { consumers: readonly ConsumerDefinition[]; relay: boolean },
): Promise<void> {
  const url = requireDatabaseUrl(config);
  const pool = createPool(url, {
    applicationName: roles.relay ? 'saga-relay-pool' : 'saga-consume-pool',
    // A frozen instance's open delivery transaction would hold every reader back: ended as its
    // partitions are taken over.
    idleInTransactionTimeoutMs: config.takeoverAfterMs,
  });
  const tracing = startTracing({ serviceName: roles.relay ? 'saga-relay' : 'saga-consume' });
  // Delivery figures (backlog, lag, retries, dead letters) on the probe server's /metrics.
  const registry = new Registry();
  const delivery = await startDelivery({
    pool,
    connectionString: url,
    transport: transportSettings(config),
    ...roles,
    topology: registeredConsumers(),
    logger,
    registry,
    takeoverAfterMs: config.takeoverAfterMs,
  });
  let draining = false;
  const probes = config.healthPort
    ? await startProbeServer({ port: config.healthPort, ready: () => !draining, registry })
    : undefined;
  // SIGTERM: not ready at once, keep delivering for SHUTDOWN_DELAY, then stop: the relay
  // publishes and checkpoints the batch in flight, each consumer partition finishes and
  // acknowledges its current delivery.
  drainOnShutdownSignal({
    role: roles.relay ? 'relay' : 'consume',
    logger,
    delayMs: config.shutdownDelayMs,
    markDraining: () => (draining = true),
    drain: async () => {
      await delivery.stop();
      await pool.end();
      await probes?.close();
      await tracing.shutdown();
    },
  });
}
