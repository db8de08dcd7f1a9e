import path from 'node:path';
import { Command } from 'commander';
import { createLogger } from '../src/logger';
import { formatReport, runChaos, writeReport } from './run';

/**
 * `npm run chaos [-- --orders 300 --faults 36 --hang-ms 35000 --transport nats|rabbitmq --seed N]`: the full
 * chaos run against the production-like topology; prints the report, writes it as JSON under
 * chaos/results/, and exits 1 when an invariant failed.
 */
const whole = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`chaos: ${name} must be a whole number, not "${value}"\n`);
    process.exit(2);
  }
  return n;
};

const program = new Command()
  .name('chaos')
  .description(
    'Kill, hang and restart every part of the production-like topology under load; check nothing was lost or doubled',
  )
  .option('--orders <n>', 'orders placed through the API', whole('--orders'), 300)
  .option(
    '--faults <n>',
    'faults injected (rounds of worker, api, relay, consume, temporal, postgres, broker kills and ' +
      'hang-worker, hang-relay, hang-temporal, hang-postgres, hang-broker; every third slot two at once)',
    whole('--faults'),
    36,
  )
  .option(
    '--hang-ms <ms>',
    'how long a hung part stays frozen (SIGSTOP to SIGCONT); the default outlasts every client timeout',
    whole('--hang-ms'),
    35_000,
  )
  .option(
    '--transport <kind>',
    'nats (a nats-server of its own) or rabbitmq (AMQP_URL: rabbitmqctl, SIGSTOP of its beam.smp)',
    'nats',
  )
  .option('--concurrency <n>', 'orders in flight at once', whole('--concurrency'), 12)
  .option('--seed <n>', 'repeat a run', whole('--seed'))
  .option('--keep-data', 'keep the data folder with every process log')
  .option('--built', 'run the roles from dist/ (npm run build) instead of the sources through tsx')
  .option('--report <file>', 'write the JSON report here (default chaos/results/chaos-<time>.json)')
  .action(
    async (options: {
      orders: number;
      faults: number;
      hangMs: number;
      transport: string;
      concurrency: number;
      seed?: number;
      keepData?: boolean;
      built?: boolean;
      report?: string;
    }) => {
      if (options.transport !== 'nats' && options.transport !== 'rabbitmq') {
        process.stderr.write(`chaos: --transport must be nats or rabbitmq, not "${options.transport}"\n`);
        process.exit(2);
      }
      const { report: reportFile, ...settings } = options;
      const report = await runChaos({
        ...settings,
        transport: options.transport,
        logger: createLogger(process.env.LOG_LEVEL ?? 'warn'),
      });
      process.stdout.write(`${formatReport(report)}\n`);
      const file = await writeReport(report, reportFile ?? path.join(__dirname, 'results', `chaos-${Date.now()}.json`));
      process.stdout.write(`Report: ${path.relative(process.cwd(), file)}\n`);
      process.exit(report.ok ? 0 : 1);
    },
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`chaos: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
