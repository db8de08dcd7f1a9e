#!/usr/bin/env node
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { checkCatalog, LOCK_FILE, REPO_ROOT, writeLock } from './events/catalog-check';
import { catalogDocs } from './events/catalog-docs';
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { startDevStack } from './dev';
import { buildApp } from './api/app';
import { onShutdownSignal } from './runtime/signals';
import { AlreadyRunningError } from './runtime/dev-lock';
import { PortInUseError } from './runtime/ports';
import { migrate, MigrationError } from './store/migrations';
import { EmbeddedPostgresUnavailableError } from './store/embedded-postgres';
import { createPool } from './store/pool';
import { seedCatalog } from './store/catalog';
import { resolveTemporalCli, TemporalCliNotFoundError } from './temporal/cli-binary';
import { DevServerStartError } from './temporal/dev-server';
import { createTemporalClient } from './temporal/client';
import { installTemporalRuntime } from './temporal/runtime';
import { connectWorker, createWorker } from './worker';
import { simulatedActivityDeps } from './runtime/activity-deps';

/** Errors that describe a user-fixable situation: printed as a message, not a stack trace. */
const EXPECTED_ERRORS = [
  ConfigError,
  AlreadyRunningError,
  PortInUseError,
  MigrationError,
  TemporalCliNotFoundError,
  DevServerStartError,
  EmbeddedPostgresUnavailableError,
];

function requireDatabaseUrl(config: Config): string {
  if (!config.databaseUrl) {
    throw new ConfigError([
      { variable: 'DATABASE_URL', message: 'is required for this command (only `saga dev` embeds PostgreSQL)' },
    ]);
  }
  return config.databaseUrl;
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
      const stack = await startDevStack(config, logger);
      onShutdownSignal(async (signal) => {
        logger.info({ signal }, 'stopping');
        await stack.stop();
        process.stdout.write('Stopped.\n');
      });
      process.stdout.write(
        [
          '',
          'Saga orchestrator is running:',
          `  HTTP API      ${stack.urls.api}   (GET /health, POST /orders)`,
          `  Temporal UI   ${stack.urls.temporalUi ?? '(headless)'}`,
          `  Temporal gRPC ${stack.urls.temporal}`,
          `  PostgreSQL    ${stack.urls.postgres}`,
          'Press Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
    }),
  );

program
  .command('migrate')
  .description('Apply pending database migrations (DATABASE_URL)')
  .option('--seed', 'then insert the demo product catalog where missing')
  .action((options: { seed?: boolean }) =>
    run(async (config) => {
      const pool = createPool(requireDatabaseUrl(config));
      try {
        const applied = await migrate(pool);
        process.stdout.write(
          applied.length ? `Applied migrations: ${applied.join(', ')}\n` : 'Database is up to date.\n',
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
  .description('Insert the demo product catalog (SKU-0001 … SKU-0010, SKU-SOLDOUT) where missing (DATABASE_URL)')
  .action(() =>
    run(async (config) => {
      const pool = createPool(requireDatabaseUrl(config));
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
      const pool = createPool(requireDatabaseUrl(config));
      installTemporalRuntime(logger);
      const connection = await connectWorker(config.temporal.address);
      const worker = await createWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        deps: simulatedActivityDeps(pool),
      });
      onShutdownSignal(async () => worker.shutdown());
      logger.info({ taskQueue: config.temporal.taskQueue }, 'worker running');
      await worker.run();
      await connection.close();
      await pool.end();
    }),
  );

program
  .command('api')
  .description('Run the HTTP API (DATABASE_URL, TEMPORAL_ADDRESS, PORT)')
  .action(() =>
    run(async (config, logger) => {
      const pool = createPool(requireDatabaseUrl(config));
      const temporal = await createTemporalClient(config.temporal);
      const app = buildApp({ pool, temporal, taskQueue: config.temporal.taskQueue, orders: config.orders, logger });
      await app.listen({ port: config.api.port, host: config.api.host });
      onShutdownSignal(async () => {
        await app.close();
        await temporal.connection.close();
        await pool.end();
      });
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

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`saga: ${(err as Error).message}\n`);
  process.exit(2);
});
