/** Run the system: `saga dev` (everything on one machine) and `saga cluster up` (the production-like topology). */
import path from 'node:path';
import { Command } from 'commander';
import type * as Dev from '../../dev';
import type * as Cluster from '../../cluster/cluster';
import type * as Tracing from '../../telemetry/tracing';
import { onShutdownSignal } from '../../processes/signals';
import { run, UsageError } from '../run';

// Loaded in the actions (`require`, typed by the imports above): `saga --help` or a command that
// fails its checks loads neither stack.
const dev = (): typeof Dev => require('../../dev');
const clusterModule = (): typeof Cluster => require('../../cluster/cluster');
const tracing = (): typeof Tracing => require('../../telemetry/tracing');

export function registerStackCommands(program: Command): void {
  program
    .command('dev')
    .description('Run the whole system locally: Temporal dev server + UI, PostgreSQL, worker, API')
    .action(() =>
      run(async (config, logger) => {
        const { startDevStack } = dev();
        const { startTracing } = tracing();
        const telemetry = startTracing({ serviceName: 'saga-dev' });
        const stack = await startDevStack(config, logger);
        onShutdownSignal(async (signal) => {
          logger.info({ signal }, 'stopping');
          await stack.stop();
          await telemetry.shutdown();
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
          const { startCluster } = clusterModule();
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
}
