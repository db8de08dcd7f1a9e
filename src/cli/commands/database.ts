/** The database: migrations, the demo catalog, read-model rebuilds. */
import { Command } from 'commander';
import type * as Rebuild from '../../consumers/rebuild';
import { runMigrations } from '../../store/migrations';
import { createPool } from '../../store/pool';
import { seedCatalog } from '../../store/catalog';
import { needsSimulatorMigrations } from '../../processes/simulator-migrations';
import { Presets, SingleBar } from 'cli-progress';
import { databaseUrlOrLocalStack, run, UsageError, withPool } from '../run';

/** Each projection's rebuild, loaded when it runs (`require`, typed by the import above). */
const PROJECTIONS = {
  'order-summary': () => (require('../../consumers/rebuild') as typeof Rebuild).rebuildOrderSummary,
} as const;

export function registerDatabaseCommands(program: Command): void {
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
    .command('projections')
    .description('Read models (DATABASE_URL, else the running npm start)')
    .command('rebuild <name>')
    .description(
      `Replay the whole log into a fresh table and swap it in; reads keep working (${Object.keys(PROJECTIONS).join(', ')})`,
    )
    .option('--batch-size <n>', 'events per batch', '1000')
    .action((name: string, options: { batchSize: string }) =>
      run(async (config) => {
        const loadRebuild = PROJECTIONS[name as keyof typeof PROJECTIONS];
        if (!loadRebuild)
          throw new UsageError(`Unknown projection ${name} (known: ${Object.keys(PROJECTIONS).join(', ')})`);
        const batchSize = Number(options.batchSize);
        if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
          throw new UsageError('--batch-size must be 1..100000');
        }
        const bar = new SingleBar(
          { format: `${name} [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left`, hideCursor: true },
          Presets.shades_classic,
        );
        const rebuild = loadRebuild();
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
}
