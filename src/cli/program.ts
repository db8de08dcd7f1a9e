/**
 * The whole `saga` program: every command. `src/cli.ts` loads it for everything but the
 * operator commands, which are clients of the API and load only those (src/cli/operator-main.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { checkCatalog, LOCK_FILE, REPO_ROOT, writeLock } from '../events/catalog-check';
import { catalogDocs } from '../docs/catalog-docs';
import { ConfigError, loadConfig, type Config } from '../processes/config';
import { createLogger, type Logger } from '../logger';
import { startDevStack } from '../dev';
import { startCluster } from '../cluster/cluster';
import { startTracing } from '../telemetry/tracing';
import { onShutdownSignal } from '../processes/signals';
import { exploreCommand, UnknownSagaError, type ExploreCommandOptions } from './explore-command';
import { AlreadyRunningError } from '../processes/dev-lock';
import { PortInUseError } from '../processes/ports';
import { MigrationError, runMigrations } from '../store/migrations';
import { EmbeddedPostgresUnavailableError } from '../store/embedded-postgres';
import { createPool } from '../store/pool';
import { seedCatalog } from '../store/catalog';
import { resolveTemporalServer } from '../temporal/server-binary';
import { resolveTemporalCli, TemporalCliNotFoundError } from '../temporal/cli-binary';
import { DevServerStartError } from '../temporal/dev-server';
import { needsSimulatorMigrations } from '../processes/simulator-migrations';
import { CONSUMERS, selectConsumers, UnknownConsumerError } from '../consumers';
import { rebuildOrderSummary } from '../consumers/rebuild';
import { Presets, SingleBar } from 'cli-progress';
import { describeNoStack, lookupLocalStack } from './local-stack';
import { registerOperatorCommands } from './operator-commands';
import { runApiRole } from '../processes/api-role';
import { runDeliveryRole } from '../processes/delivery-role';
import { runWorkerRole } from '../processes/worker-role';

/** The command line asks for something impossible (bad argument, wrong transport). */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Errors that describe a user-fixable situation: printed as a message, not a stack trace. */
const EXPECTED_ERRORS = [
  ConfigError,
  AlreadyRunningError,
  PortInUseError,
  MigrationError,
  TemporalCliNotFoundError,
  DevServerStartError,
  EmbeddedPostgresUnavailableError,
  UsageError,
  UnknownConsumerError,
  UnknownSagaError,
];

/**
 * DATABASE_URL, else the database of the `npm start` running with this DATA_DIR (its lock
 * file records it), for the commands an operator runs beside it (migrate, seed, rebuild).
 */
function databaseUrlOrLocalStack(config: Config): string {
  if (config.databaseUrl) return config.databaseUrl;
  const local = lookupLocalStack(config.dataDir);
  if (local.state === 'running') {
    process.stderr.write(`Using the database of the running \`npm start\` (pid ${local.pid}).\n`);
    return local.stack.databaseUrl;
  }
  throw new ConfigError([
    {
      variable: 'DATABASE_URL',
      message: `is required for this command: only \`saga dev\` embeds PostgreSQL, and ${describeNoStack(local)}`,
    },
  ]);
}

async function run(action: (config: Config, logger: Logger) => Promise<void>): Promise<void> {
  try {
    const config = loadConfig();
    await action(config, createLogger(config.logLevel));
  } catch (err) {
    if (EXPECTED_ERRORS.some((E) => err instanceof E)) {
      process.stderr.write(`saga: ${(err as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`saga: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  }
}

const program = new Command()
  .name('saga')
  .description('Saga orchestrator: durable order lifecycles on Temporal with a transactional outbox');

program
  .command('dev')
  .description('Run the whole system locally: Temporal dev server + UI, PostgreSQL, worker, API')
  .action(() =>
    run(async (config, logger) => {
      const tracing = startTracing({ serviceName: 'saga-dev' });
      const stack = await startDevStack(config, logger);
      onShutdownSignal(async (signal) => {
        logger.info({ signal }, 'stopping');
        await stack.stop();
        await tracing.shutdown();
        process.stdout.write('Stopped.\n');
      });
      process.stdout.write(
        [
          '',
          'Saga orchestrator is running:',
          `  HTTP API      ${stack.urls.api}   (GET /health, POST /orders)`,
          `  Console       ${stack.urls.api}/console`,
          `  Temporal UI   ${stack.urls.temporalUi ?? '(headless)'}`,
          `  Temporal gRPC ${stack.urls.temporal}`,
          `  PostgreSQL    ${stack.urls.postgres}`,
          `  Consumers     ${stack.delivery}`,
          config.api.apiKeys.length
            ? `  API keys      ${config.api.apiKeys.map((k) => `${k.name} (${k.role})`).join(', ')}`
            : '  API keys      none: the API is open, so it listens on 127.0.0.1 only (set API_KEYS to share it)',
          'Press Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
    }),
  );

const count = (name: string) => (value: string) => {
  if (!/^\d{1,2}$/.test(value)) throw new UsageError(`${name} must be a whole number, not "${value}"`);
  return Number(value);
};
const portOption = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new UsageError(`${name} must be a port (1..65535)`);
  return n;
};

program
  .command('cluster')
  .description('The production-like topology on this machine, without Docker')
  .command('up')
  .description(
    'Start the Temporal server on PostgreSQL and every role as its own process: 2 workers, 2 API replicas ' +
      'behind PORT, relay + standby, 2 consumer instances (TRANSPORT, DATABASE_URL or embedded PostgreSQL)',
  )
  .option('--workers <n>', 'worker replicas', count('--workers'), 2)
  .option('--apis <n>', 'API replicas behind the front door', count('--apis'), 2)
  .option(
    '--relays <n>',
    'relays: one active, the others standbys (none with TRANSPORT=postgres)',
    count('--relays'),
    2,
  )
  .option('--consumers <n>', 'consumer instances sharing the partitions', count('--consumers'), 2)
  .option(
    '--temporal-port <port>',
    'Temporal frontend; the server also takes the 8 ports above',
    portOption('--temporal-port'),
    7233,
  )
  .option(
    '--postgres-port <port>',
    'embedded PostgreSQL when DATABASE_URL is unset',
    portOption('--postgres-port'),
    54339,
  )
  .option('--data-dir <dir>', 'configuration, logs and embedded data (default <DATA_DIR>/cluster)')
  .option('--no-ui', 'do not start the Temporal Web UI (TEMPORAL_UI_PORT, default 8233)')
  .option('--temporal-database <name>', "the Temporal server's database (and <name>_visibility)", 'temporal')
  .action(
    (options: {
      workers: number;
      apis: number;
      relays: number;
      consumers: number;
      temporalPort: number;
      postgresPort: number;
      dataDir?: string;
      ui: boolean;
      temporalDatabase: string;
    }) =>
      run(async (config, logger) => {
        let cluster: Awaited<ReturnType<typeof startCluster>>;
        try {
          cluster = await startCluster({
            logger,
            dataDir: options.dataDir,
            shape: {
              workers: options.workers,
              apis: options.apis,
              relays: options.relays,
              consumers: options.consumers,
            },
            temporalPort: options.temporalPort,
            postgresPort: options.postgresPort,
            ...(options.ui ? {} : { uiPort: 0 }),
            temporalDatabase: options.temporalDatabase,
          });
        } catch (err) {
          if (err instanceof RangeError) throw new UsageError(err.message);
          throw err;
        }
        onShutdownSignal(async () => {
          process.stdout.write('Stopping: roles drain first, then the Temporal server and PostgreSQL.\n');
          await cluster.stop();
          process.stdout.write('Stopped.\n');
        });
        const roles = cluster.processes.map((p) => `${p.name} (${p.spec.readyUrl.replace('/health/ready', '')})`);
        process.stdout.write(
          [
            '',
            'Production-like topology is running:',
            `  HTTP API      ${cluster.urls.api}   (front door of ${options.apis} replicas)`,
            `  Console       ${cluster.urls.api}/console`,
            `  Temporal UI   ${cluster.urls.temporalUi ?? '(off: --no-ui)'}`,
            `  Temporal gRPC ${cluster.urls.temporal}   (the Temporal server on PostgreSQL)`,
            `  PostgreSQL    ${cluster.urls.postgres.replace(/\/\/([^:/@]+):[^@]+@/, '//$1:***@')}`,
            `  Transport     ${config.transport}`,
            `  Processes     ${roles.join('\n                ')}`,
            `  Logs          ${path.join(cluster.dataDir, 'logs')}`,
            'Press Ctrl-C to stop.',
            '',
          ].join('\n'),
        );
      }),
  );

program
  .command('migrate')
  .description('Apply pending database migrations (DATABASE_URL, else the running npm start)')
  .option('--simulators', "also apply the simulators' migrations (default when PAYMENT_ADAPTER=simulator)")
  .option('--no-simulators', "skip the simulators' migrations (a production database)")
  .option('--seed', 'then insert the demo product catalog where missing')
  .action((options: { seed?: boolean; simulators?: boolean }) =>
    run(async (config) => {
      const pool = createPool(databaseUrlOrLocalStack(config));
      try {
        // The flag wins; without it the simulators' set follows PAYMENT_ADAPTER.
        const simulators = options.simulators ?? needsSimulatorMigrations(config.adapters);
        const applied = await runMigrations(pool, { simulators });
        const skippedBecause =
          options.simulators === false ? '--no-simulators' : `PAYMENT_ADAPTER=${config.adapters.payment}`;
        process.stdout.write(
          applied.simulators === undefined
            ? `Simulator migrations skipped (${skippedBecause}).\n`
            : applied.simulators.length
              ? `Applied simulator migrations: ${applied.simulators.join(', ')}\n`
              : 'Simulator migrations are up to date.\n',
        );
        process.stdout.write(
          applied.production.length
            ? `Applied migrations: ${applied.production.join(', ')}\n`
            : 'Database is up to date.\n',
        );
        if (options.seed) {
          await seedCatalog(pool);
          process.stdout.write('Catalog seeded.\n');
        }
      } finally {
        await pool.end();
      }
    }),
  );

program
  .command('seed')
  .description(
    'Insert the demo product catalog (SKU-0001 … SKU-0010, SKU-SOLDOUT) where missing (DATABASE_URL, else the running npm start)',
  )
  .action(() =>
    run(async (config) => {
      const pool = createPool(databaseUrlOrLocalStack(config));
      try {
        await seedCatalog(pool);
        process.stdout.write('Catalog seeded.\n');
      } finally {
        await pool.end();
      }
    }),
  );

program
  .command('worker')
  .description('Run a Temporal worker for the order saga (DATABASE_URL, TEMPORAL_ADDRESS)')
  .action(() =>
    run(async (config, logger) => {
      await runWorkerRole(config, logger);
    }),
  );

program
  .command('api')
  .description('Run the HTTP API (DATABASE_URL, TEMPORAL_ADDRESS, PORT)')
  .action(() =>
    run(async (config, logger) => {
      await runApiRole(config, logger);
    }),
  );

program
  .command('relay')
  .description('Publish committed events to the broker (TRANSPORT=rabbitmq|nats); run several for hot standbys')
  .action(() =>
    run(async (config, logger) => {
      if (config.transport === 'postgres') {
        throw new UsageError('TRANSPORT=postgres needs no relay: consumers read the events table directly');
      }
      await runDeliveryRole(config, logger, { consumers: [], relay: true });
      logger.info({ transport: config.transport }, 'relay started (active or standby)');
    }),
  );

program
  .command('consume')
  .description('Run consumers (all, or the names given) on the configured TRANSPORT; run several to share partitions')
  .argument('[names...]', `consumers to run (${CONSUMERS.map((c) => c.name).join(', ')})`)
  .action((names: string[]) =>
    run(async (config, logger) => {
      const consumers = selectConsumers(names);
      await runDeliveryRole(config, logger, { consumers, relay: false });
      logger.info({ consumers: consumers.map((c) => c.name), transport: config.transport }, 'consumers started');
    }),
  );

async function withPool<T>(config: Config, fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const pool = createPool(databaseUrlOrLocalStack(config));
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

// Operator commands (dlq, order, return) are clients of the HTTP API: src/cli/operator-commands.ts.
registerOperatorCommands(program);

const PROJECTIONS = { 'order-summary': rebuildOrderSummary } as const;

program
  .command('projections')
  .description('Read models (DATABASE_URL, else the running npm start)')
  .command('rebuild <name>')
  .description(
    `Replay the whole log into a fresh table and swap it in; reads keep working (${Object.keys(PROJECTIONS).join(', ')})`,
  )
  .option('--batch-size <n>', 'events per batch', '1000')
  .action((name: string, options: { batchSize: string }) =>
    run(async (config) => {
      const rebuild = PROJECTIONS[name as keyof typeof PROJECTIONS];
      if (!rebuild) throw new UsageError(`Unknown projection ${name} (known: ${Object.keys(PROJECTIONS).join(', ')})`);
      const batchSize = Number(options.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
        throw new UsageError('--batch-size must be 1..100000');
      }
      const bar = new SingleBar(
        { format: `${name} [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left`, hideCursor: true },
        Presets.shades_classic,
      );
      let started = false;
      const result = await withPool(config, (pool) =>
        rebuild(pool, {
          batchSize,
          onProgress: (done, total) => {
            if (!started) {
              bar.start(total, 0);
              started = true;
            }
            bar.setTotal(total);
            bar.update(done);
          },
        }),
      );
      if (started) bar.stop();
      process.stdout.write(
        `Rebuilt ${name}: ${result.orders} orders from ${result.events} events in ${(result.durationMs / 1000).toFixed(1)} s` +
          `${result.unreadable ? ` (${result.unreadable} unreadable events skipped: see saga dlq list)` : ''}; swapped in.\n`,
      );
    }),
  );

program
  .command('explore <saga>')
  .description(
    'Run every failure point of a saga (orderSaga, returnSaga) on the real stack; print the step × fault matrix',
  )
  .option('--quick', 'one scenario of each fault kind only')
  .option('--concurrency <n>', 'scenarios at once (default 4)', (v) => Number(v))
  .option('--json <file>', 'also write the report as JSON')
  .option('--markdown <file>', 'also write the matrix as Markdown')
  .action((saga: string, options: ExploreCommandOptions) =>
    run(async (config) => {
      const ok = await exploreCommand(config, databaseUrlOrLocalStack(config), saga, options);
      process.exit(ok ? 0 : 1);
    }),
  );

program
  .command('catalog')
  .description('Write the event catalog docs (docs/events.md, docs/asyncapi.yaml) from src/events/catalog.ts')
  .option('--check', 'only check: the compatibility gate and that the docs are current; exit 1 on problems')
  .option('--update-lock', 'release the current catalog: rewrite events.lock.json deliberately')
  .action((options: { check?: boolean; updateLock?: boolean }) =>
    run(async () => {
      if (options.updateLock) {
        writeLock();
        process.stdout.write(`Wrote ${path.relative(process.cwd(), LOCK_FILE)}.\n`);
      }
      const docs = catalogDocs();
      if (options.check) {
        const problems = [
          ...checkCatalog(),
          ...docs
            .filter(
              (d) =>
                !existsSync(path.join(REPO_ROOT, d.path)) ||
                readFileSync(path.join(REPO_ROOT, d.path), 'utf8') !== d.content,
            )
            .map((d) => `${d.path} is stale: run \`npm run saga -- catalog\``),
        ];
        if (problems.length) {
          process.stderr.write(`Event catalog check failed:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
          process.exit(1);
        }
        process.stdout.write('Event catalog is compatible and its docs are current.\n');
        return;
      }
      for (const d of docs) writeFileSync(path.join(REPO_ROOT, d.path), d.content);
      process.stdout.write(`Wrote ${docs.map((d) => d.path).join(', ')}.\n`);
    }),
  );

program
  .command('temporal-cli')
  .description('Print the Temporal CLI path, building it with Go into the cache if needed')
  .action(() =>
    run(async (config) => {
      const cli = await resolveTemporalCli({ explicitPath: config.temporal.cliPath, allowSdkDownload: false });
      process.stdout.write(`${cli.path}\n`);
    }),
  );

program
  .command('temporal-server')
  .description(
    'Print the Temporal server (on PostgreSQL), schema tool and Web UI server paths, building them with Go if needed',
  )
  .action(() =>
    run(async () => {
      const binaries = await resolveTemporalServer();
      process.stdout.write(`${binaries.server}\n${binaries.sqlTool}\n${binaries.ui}\n`);
    }),
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`saga: ${(err as Error).message}\n`);
  process.exit(2);
});
