import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../logger';
import { createPool } from '../store/pool';
import { registerSagaMetrics } from '../telemetry/saga-metrics';
import { startTracing } from '../telemetry/tracing';
import { temporalConnectOptions } from '../temporal/connect-options';
import { installTemporalRuntime, sdkMetricsText } from '../temporal/runtime';
import { verifySearchAttributes } from '../temporal/search-attribute-registry';
import { freePort } from '../util/free-port';
import { bundleIsTraced, connectWorker, createWorker, shippedWorkflowBundle } from '../worker';
import { activityDeps } from './adapters';
import { requireDatabaseUrl, type Config } from './config';
import { dataConverterOf } from './payload-keys';
import { startProbeServer } from './probe-server';
import { drainOnShutdownSignal } from './signals';
import { roleTemporalClient } from './temporal-client';
import { createPluginWorkers, runAll } from './plugin-workers';
import { registeredSagas } from './plugins';

/**
 * `saga worker`: a Temporal worker for the sagas with the configured adapters, saga metrics and
 * probes; drains on SIGTERM. Settles only when the worker stops.
 */
export async function runWorkerRole(config: Config, logger: Logger): Promise<void> {
  const pool = createPool(requireDatabaseUrl(config));
  // Before anything starts: a missing or bad key is a start-up error naming its variable.
  const dataConverter = dataConverterOf(config);
  const tracing = startTracing({ serviceName: 'saga-worker' });
  if (tracing.enabled && config.temporal.workflowBundle && !bundleIsTraced(config.temporal.workflowBundle)) {
    logger.warn(
      { bundle: config.temporal.workflowBundle },
      'tracing is on but WORKFLOW_BUNDLE was built without the OpenTelemetry workflow interceptors: workflow spans are missing',
    );
  }
  // Saga figures and, from the SDK, task slots and latencies: both on the probe server's /metrics.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'saga_worker_' });
  const sagaMetrics = registerSagaMetrics(registry, pool, registeredSagas());
  const sdkMetricsPort = config.healthPort ? await freePort() : undefined;
  installTemporalRuntime(logger, { metricsPort: sdkMetricsPort });
  const temporalTarget = temporalConnectOptions(config.temporal);
  // Sagas upsert the project's search attributes: check (or add) them before taking tasks.
  const check = await roleTemporalClient(config, dataConverter);
  try {
    await verifySearchAttributes(check.connection, temporalTarget.namespace);
  } finally {
    await check.connection.close();
  }
  // WORKFLOW_BUNDLE, else the build's own (from dist/), else webpack bundles src/workflows now.
  const workflowBundle = config.temporal.workflowBundle ?? shippedWorkflowBundle();
  const connection = await connectWorker(temporalTarget.connection);
  const worker = await createWorker({
    connection,
    namespace: temporalTarget.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: activityDeps(pool, config.adapters),
    activityInterceptors: [sagaMetrics.interceptor],
    dataConverter,
    ...(workflowBundle ? { workflowBundle: { codePath: workflowBundle } } : {}),
  });
  // The plugins' sagas, each on its own task queue, beside the project's.
  const workers = [
    worker,
    ...(await createPluginWorkers({
      connection,
      namespace: temporalTarget.namespace,
      pool,
      logger,
      activityInterceptors: [sagaMetrics.interceptor],
      dataConverter,
    })),
  ];
  let draining = false;
  const probes = config.healthPort
    ? await startProbeServer({
        port: config.healthPort,
        ready: () => !draining && workers.every((w) => w.getState() === 'RUNNING'),
        registry,
        extraMetrics: () => sdkMetricsText(sdkMetricsPort!),
      })
    : undefined;
  const { running, shutdown } = runAll(workers);
  // SIGTERM: not ready at once, keep polling for SHUTDOWN_DELAY, then stop polling and wait
  // for the tasks in flight (activities up to the worker's shutdownGraceTime), exit 0.
  drainOnShutdownSignal({
    role: 'worker',
    logger,
    delayMs: config.shutdownDelayMs,
    markDraining: () => (draining = true),
    drain: async () => {
      shutdown();
      await running;
      await connection.close();
      await pool.end();
      await probes?.close();
      await tracing.shutdown();
    },
  });
  logger.info(
    { taskQueue: config.temporal.taskQueue, probes: probes?.url, workflowBundle: workflowBundle ?? 'bundled at start' },
    'worker running',
  );
  // Settles only when the worker stops: on SIGTERM (the drain above exits) or on a fatal error.
  await running;
}
