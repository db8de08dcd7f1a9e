import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { MultiBar, Presets } from 'cli-progress';
import pg from 'pg';
import { loadConfig } from '../src/processes/config';
import { createLogger } from '../src/logger';
import { provisionPostgres } from '../src/processes/postgres';
import { seedCatalog } from '../src/store/catalog';
import { createDatabaseIfMissing } from '../src/store/embedded-postgres';
import { runMigrations } from '../src/store/migrations';
import { createPool } from '../src/store/pool';
import { resolveTemporalCli } from '../src/temporal/cli-binary';
import { resolveTemporalServer } from '../src/temporal/server-binary';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { writeWorkflowBundle } from '../src/worker';
import { ROOT, tsxCommand } from './processes';
import { met, type Figure, type Ratio, type Scenario, type ScenarioContext } from './harness';
import { renderChart, renderMarkdown } from './report';

export interface BenchOptions {
  scenarios: readonly Scenario[];
  /** Smaller workloads (under three minutes in all). */
  quick?: boolean;
  /** Overrides the workload multiplier (the harness test uses a tiny one). Default 1, or 0.25 with quick. */
  scale?: number;
  /** Where results go. Default bench/results. */
  outDir?: string;
  /** Environment, as `npm start` reads it. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Show progress bars. Default: when stdout is a terminal. */
  progressBars?: boolean;
  /** Run the roles from the build in dist/ (`npm run build`) instead of the sources through tsx. Default false. */
  built?: boolean;
}

export interface BenchReport {
  startedAt: string;
  quick: boolean;
  scale: number;
  machine: { cpus: number; memoryGiB: number; node: string; platform: string };
  ratios: (Ratio & { met: boolean; scenario: string })[];
  figures: Figure[];
  notes: Record<string, string[]>;
  files: { json: string; markdown: string; chart: string };
}

/**
 * Runs the scenarios one after another and writes `bench/results/<stamp>.json`, a Markdown
 * table and an SVG chart (plus `latest.*`). PostgreSQL and the Temporal CLI are provisioned
 * exactly as `npm start` does (DATABASE_URL or the embedded server; the resolved CLI), with
 * the bench's own data folder and ports so a running `npm start` is not disturbed.
 */
async function bundleOnce(dir: string): Promise<{ saga: string; baseline: string }> {
  const files = { saga: path.join(dir, 'workflow-bundle.js'), baseline: path.join(dir, 'noop-workflow-bundle.js') };
  await writeWorkflowBundle(files.saga);
  const baseline = await bundleWorkflowCode({
    workflowsPath: require.resolve('./baseline/noop-workflow'),
    logger: new DefaultLogger('WARN'),
  });
  writeFileSync(files.baseline, baseline.code);
  return files;
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const quick = options.quick ?? false;
  const scale = options.scale ?? (quick ? 0.25 : 1);
  const env = options.env ?? process.env;
  const config = loadConfig({
    DATA_DIR: path.join('.data', 'bench'),
    EMBEDDED_PG_PORT: '54339',
    LOG_LEVEL: 'warn',
    ...env,
  });
  const logger = createLogger('warn');
  const outDir = path.resolve(options.outDir ?? path.join(__dirname, 'results'));
  mkdirSync(outDir, { recursive: true });
  mkdirSync(config.dataDir, { recursive: true });

  const postgres = await provisionPostgres(config, logger);
  const bars =
    (options.progressBars ?? Boolean(process.stdout.isTTY))
      ? new MultiBar(
          { format: '{bar} {percentage}% | {value}/{total} | {label}', hideCursor: true },
          Presets.shades_grey,
        )
      : undefined;
  let cliPath: string | undefined;
  let bundles: ReturnType<typeof bundleOnce> | undefined;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'saga-bench-run-'));
  const ctx: ScenarioContext = {
    quick,
    scale,
    progress(label, total) {
      const bar = bars?.create(total, 0, { label });
      let value = 0;
      return {
        increment: (by = 1) => {
          value += by;
          bar?.update(value);
        },
        done: () => bar?.update(total),
      };
    },
    log: (line) => (bars ? bars.log(`${line}\n`) : console.log(line)),
    async database(name) {
      const database = `bench_${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomUUID().slice(0, 8)}`;
      await createDatabaseIfMissing(postgres.url, database);
      const url = new URL(postgres.url);
      url.pathname = `/${database}`;
      const pool = createPool(url.toString(), { max: 20 });
      await runMigrations(pool, { simulators: true });
      await seedCatalog(pool);
      return {
        url: url.toString(),
        pool,
        async drop() {
          await pool.end();
          const admin = new pg.Client({ connectionString: postgres.url });
          await admin.connect();
          try {
            await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
          } finally {
            await admin.end();
          }
        },
      };
    },
    async temporalCli() {
      cliPath ??= (await resolveTemporalCli({ explicitPath: config.temporal.cliPath })).path;
      if (!cliPath) throw new Error('No Temporal CLI binary (the bench starts its own dev servers)');
      return cliPath;
    },
    temporalServer: () => resolveTemporalServer({ build: false }),
    postgresUrl: postgres.url,
    amqpUrl: env.AMQP_URL,
    natsUrl: env.NATS_URL,
    shared: new Map(),
    sagaCommand: options.built ? [process.execPath, path.join(ROOT, 'dist/cli.js')] : tsxCommand('src/cli.ts'),
    workflowBundles: () => (bundles ??= bundleOnce(tmp)),
  };

  const ratios: BenchReport['ratios'] = [];
  const figures: Figure[] = [];
  const notes: Record<string, string[]> = {};
  try {
    for (const scenario of options.scenarios) {
      ctx.log(`▶ ${scenario.title}`);
      const result = await scenario.run(ctx);
      ratios.push(...result.ratios.map((r) => ({ ...r, met: met(r), scenario: scenario.name })));
      figures.push(...result.figures);
      notes[scenario.name] = result.notes;
    }
  } finally {
    bars?.stop();
    await postgres.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  const startedAt = new Date().toISOString();
  const stamp = startedAt.replace(/[:.]/g, '-');
  const files = {
    json: path.join(outDir, `${stamp}.json`),
    markdown: path.join(outDir, `${stamp}.md`),
    chart: path.join(outDir, `${stamp}.svg`),
  };
  const report: BenchReport = {
    startedAt,
    quick,
    scale,
    machine: {
      cpus: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
    },
    ratios,
    figures,
    notes,
    files,
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const markdown = renderMarkdown(report);
  const chart = renderChart(report);
  for (const [file, content] of [
    [files.json, json],
    [files.markdown, markdown],
    [files.chart, chart],
    [path.join(outDir, 'latest.json'), json],
    [path.join(outDir, 'latest.md'), markdown],
    [path.join(outDir, 'latest.svg'), chart],
  ] as const)
    writeFileSync(file, content);
  return report;
}
