import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Worker } from '@temporalio/worker';
import { buildApp } from './api/app';
import { apiDepsOf } from './processes/api-deps';
import type { Config } from './processes/config';
import type { Logger } from './logger';
import { acquireDevLock, clientApiUrl } from './processes/dev-lock';
import { assertPortsFree } from './processes/ports';
import { provisionPostgres } from './processes/postgres';
import { seedCatalog } from './store/catalog';
import { runMigrations } from './store/migrations';
import { createPool } from './store/pool';
import { resolveTemporalCli } from './temporal/cli-binary';
import { createTemporalClient } from './temporal/client';
import { startDevServer } from './temporal/dev-server';
import { installTemporalRuntime, sdkMetricsText } from './temporal/runtime';
import { freePort } from './util/free-port';
import { connectWorker, createWorker } from './worker';
import { activityDeps } from './processes/adapters';
import { needsSimulatorMigrations } from './processes/simulator-migrations';
import { Registry } from 'prom-client';
import { registerSagaMetrics } from './telemetry/saga-metrics';
import { startDelivery } from './delivery/start';
import { transportSettings } from './delivery/transport-factory';
import { createPluginWorkers, runAll } from './processes/plugin-workers';
import { dataConverterOf, devPayloadKeyFile, ensurePayloadKeyFile } from './processes/payload-keys';
import { registeredConsumers, registeredSagas } from './processes/plugins';

export interface DevStack {
  urls: { api: string; temporalUi: string | undefined; temporal: string; postgres: string };
  /** How events reach consumers, for the start-up banner. */
  delivery: string;
  stop(): Promise<void>;
}

const redact = (url: string) => url.replace(/\/\/([^:/@]+):[^@]+@/, '//$1:***@');

/**
 * The whole system on one machine: Temporal dev server (SQLite, Web UI), PostgreSQL,
 * migrations, the worker and the HTTP API. Everything started is stopped by `stop()`,
 * in reverse order, and also when start-up fails half-way.
 */
export async function startDevStack(config: Config, logger: Logger): Promise<DevStack> {
  mkdirSync(config.dataDir, { recursive: true });
  const lock = acquireDevLock(config.dataDir);
  const cleanups: (() => Promise<void>)[] = [async () => lock.release()];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err: unknown) => logger.error({ err }, 'error while stopping'));
    }
  };

  try {
    // Encryption is on from the first start: a key made once and kept with the rest of the state.
    if (!config.payloadKeys.keys && !config.payloadKeys.file) {
      const { file, created } = ensurePayloadKeyFile(devPayloadKeyFile(config.dataDir));
      if (created) logger.info({ file }, 'payload encryption key created (keep it: histories need it)');
    }
    const dataConverter = dataConverterOf(config);
    const [host, portText] = config.temporal.address.split(':') as [string, string];
    await assertPortsFree([
      { port: Number(portText), host, variable: 'TEMPORAL_ADDRESS', what: 'Temporal frontend' },
      { port: config.temporal.uiPort, host: '127.0.0.1', variable: 'TEMPORAL_UI_PORT', what: 'Temporal Web UI' },
      { port: config.api.port, host: config.api.host, variable: 'PORT', what: 'HTTP API' },
      ...(config.databaseUrl
        ? []
        : [
            {
              port: config.embeddedPgPort,
              host: '127.0.0.1',
              variable: 'EMBEDDED_PG_PORT',
              what: 'embedded PostgreSQL',
            },
          ]),
    ]);

    const cli = await resolveTemporalCli({
      explicitPath: config.temporal.cliPath,
      onProgress: (line) => logger.info(line),
    });
    logger.info({ source: cli.source, path: cli.path }, 'Temporal CLI resolved');
    const server = await startDevServer({
      cli,
      ip: host,
      port: Number(portText),
      uiPort: config.temporal.uiPort,
      // The Web UI decodes payloads through the API's codec server (operators only, with API_KEYS).
      uiCodecEndpoint: config.temporal.codecEndpoint ?? `${clientApiUrl(config.api.host, config.api.port)}/codec`,
      dbFilename: path.join(config.dataDir, 'temporal.sqlite'),
      namespace: config.temporal.namespace,
      logFile: path.join(config.dataDir, 'temporal.log'),
      // Ctrl-C reaches only us: the worker drains before the server goes away.
      detached: true,
    });
    lock.addChild(server.pid, 'server start-dev');
    cleanups.push(server.stop);

    const postgres = await provisionPostgres(config, logger);
    cleanups.push(postgres.stop);
    const pool = createPool(postgres.url);
    cleanups.push(() => pool.end());
    // The simulators' set first: it copies their books out of tables the production set drops.
    const applied = await runMigrations(pool, { simulators: needsSimulatorMigrations(config.adapters) });
    logger.info({ applied }, 'migrations up to date');
    await seedCatalog(pool);

    const temporal = await createTemporalClient({
      address: server.address,
      namespace: config.temporal.namespace,
      dataConverter,
    });
    cleanups.push(() => temporal.connection.close());
    // The SDK's worker metrics on loopback, served with ours on the API's /metrics.
    const sdkMetricsPort = await freePort();
    installTemporalRuntime(logger, { metricsPort: sdkMetricsPort });
    const workerConnection = await connectWorker(server.address);
    cleanups.push(() => workerConnection.close());
    // One registry for the API's /metrics: saga figures from the worker, delivery, HTTP.
    const registry = new Registry();
    const sagaMetrics = registerSagaMetrics(registry, pool, registeredSagas());
    const worker: Worker = await createWorker({
      connection: workerConnection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      deps: activityDeps(pool, config.adapters),
      activityInterceptors: [sagaMetrics.interceptor],
      dataConverter,
    });
    // The plugins' sagas (SAGA_PLUGINS), each on its own task queue.
    const pluginWorkers = await createPluginWorkers({
      connection: workerConnection,
      namespace: config.temporal.namespace,
      pool,
      logger,
      activityInterceptors: [sagaMetrics.interceptor],
      dataConverter,
    });
    const workers = runAll([worker, ...pluginWorkers]);
    cleanups.push(async () => {
      workers.shutdown();
      await workers.running;
    });

    // Consumers in-process; with a broker transport the relay too (Postgres-native needs none).
    const consumers = registeredConsumers();
    const delivery = await startDelivery({
      pool,
      connectionString: postgres.url,
      transport: transportSettings(config),
      consumers,
      relay: true,
      topology: consumers,
      logger,
      registry,
    });
    cleanups.push(() => delivery.stop());
    logger.info({ transport: config.transport, consumers: consumers.map((c) => c.name) }, 'event delivery running');

    const app: FastifyInstance = buildApp(
      apiDepsOf(config, {
        pool,
        temporal,
        logger,
        registry,
        extraMetrics: () => sdkMetricsText(sdkMetricsPort),
        temporalUiUrl: server.uiUrl,
      }),
    );
    await app.listen({ port: config.api.port, host: config.api.host });
    cleanups.push(() => app.close());
    // For `saga` commands run beside it (operator commands reach this API, `saga migrate` this database).
    lock.recordStack({
      apiUrl: clientApiUrl(config.api.host, (app.server.address() as AddressInfo).port),
      databaseUrl: postgres.url,
      temporalAddress: server.address,
      temporalNamespace: config.temporal.namespace,
      temporalUiUrl: server.uiUrl ?? null,
    });

    return {
      urls: {
        api: `http://localhost:${config.api.port}`,
        temporalUi: server.uiUrl,
        temporal: server.address,
        postgres: redact(postgres.url),
      },
      delivery:
        `${consumers.map((c) => c.name).join(', ')} via ${config.transport}` +
        (config.transport === 'postgres' ? ' (reading the events table)' : ' (relay running here)'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
