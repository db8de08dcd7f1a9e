import type { Pool } from '../src/store/pool';
import type { TemporalServerBinaries } from '../src/temporal/server-binary';

/**
 * The benchmark harness: scenarios measure our code next to a baseline run on the same
 * machine in the same run, and report ratios (never absolute timings as pass/fail).
 */

/** One target of the performance issue: `value` compared with `target` as `comparison` says. */
export interface Ratio {
  name: string;
  value: number;
  target: number;
  /** What the value is measured against (the baseline run side by side). */
  baseline: string;
  /** `x` for a ratio of rates; `ms` for a latency bound. */
  unit: string;
  /** Whether the value must be at least (`>=`) or at most (`<=`) the target. Default `>=`. */
  comparison?: '>=' | '<=';
  /**
   * Why the value misses its target, from figures measured in the same run, and what would
   * close the gap; printed only when the target is missed.
   */
  whenMissed?: string;
}

/** A raw figure behind the ratios (rates, latencies, RSS), for the table. */
export interface Figure {
  scenario: string;
  name: string;
  value: number;
  unit: string;
}

export interface ScenarioResult {
  ratios: Ratio[];
  figures: Figure[];
  /** Settings used and what bounded the scenario, for the report. */
  notes: string[];
}

export interface ProgressTask {
  increment(by?: number): void;
  done(): void;
}

/** A fresh, migrated, seeded database for one measurement; dropped with `drop()`. */
export interface BenchDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

export interface ScenarioContext {
  /** `--quick`: a smaller workload (the whole run well under three minutes). */
  quick: boolean;
  /** Workload multiplier: 1 full, smaller for --quick, tiny for the harness test. */
  scale: number;
  /** A progress bar for `total` units of work. */
  progress(label: string, total: number): ProgressTask;
  log(line: string): void;
  database(name: string): Promise<BenchDatabase>;
  /** The Temporal CLI binary, resolved as `npm start` resolves it. */
  temporalCli(): Promise<string>;
  /**
   * The real Temporal server's binaries (`saga cluster up`'s), as `npm run temporal:server`
   * built them; never built here. Rejects with TemporalServerNotFoundError when missing.
   */
  temporalServer(): Promise<TemporalServerBinaries>;
  /** The bench's PostgreSQL, an admin URL (a scenario may create databases of its own). */
  postgresUrl: string;
  amqpUrl: string | undefined;
  natsUrl: string | undefined;
  /** Figures earlier scenarios left for later ones (e.g. the saga scenario's event rate). */
  shared: Map<string, number>;
  /** How the roles run `saga`: the sources through tsx, or with `--built` the build in dist/. */
  sagaCommand: readonly [string, ...string[]];
  /**
   * The saga workflows and the baseline's bundled once per run, for every `saga worker`
   * (WORKFLOW_BUNDLE, as `saga cluster up` does) and baseline worker (NOOP_WORKFLOW_BUNDLE) the
   * scenarios start: start-up is not measured, so it need not run webpack once per worker.
   */
  workflowBundles(): Promise<{ saga: string; baseline: string }>;
}

export interface Scenario {
  name: string;
  title: string;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/** `count` units of work done by `concurrency` workers; returns per-unit latencies in ms. */
export async function runConcurrently(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
  onDone?: () => void,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      await work(i);
      latencies.push(performance.now() - started);
      onDone?.();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return latencies;
}

/** The q-quantile (0..1) of samples, nearest rank. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Rate per second of `count` units over `ms`. */
export const perSecond = (count: number, ms: number): number => (count * 1000) / ms;

/** Runs `fn`, returning its result and the elapsed milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - started };
}

export const met = (r: Ratio): boolean => ((r.comparison ?? '>=') === '>=' ? r.value >= r.target : r.value <= r.target);

/** Every target of the performance issue, by ratio name: a full run reports each once. */
export const TARGETS = [
  'saga-vs-bare-workflow',
  'cluster-saga-vs-bare-workflow',
  'saga-p50-half-saturation-vs-1-per-second',
  'saga-vs-bare-workflow-p50-at-1-per-second',
  'default-vs-memory-server',
  'append-vs-emmett',
  'single-append-vs-raw-insert',
  'relay-vs-raw-publish-rabbitmq',
  'relay-vs-raw-publish-nats',
  'relay-4-vs-1-partitions-rabbitmq',
  'relay-pipelined-vs-serial-rabbitmq',
  'relay-4-vs-1-partitions-nats',
  'commit-to-consumer-p99-postgres',
  'rebuild-vs-saga-event-rate',
  'console-orders-api-vs-sql-first-page',
  'console-orders-api-vs-sql-filtered',
  'console-orders-api-vs-sql-next-page',
] as const;
