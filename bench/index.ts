import { Command } from 'commander';
import { met } from './harness';
import { runBench } from './run';
import { SCENARIOS } from './scenarios';

/** `npm run bench [-- --quick] [-- --scenario sagas append]`: side-by-side ratios, results in bench/results/. */
const program = new Command('bench')
  .description('Benchmarks as ratios against baselines run side by side on this machine')
  .option('--quick', 'smaller workloads (under three minutes)')
  .option('--scale <n>', 'workload multiplier (overrides --quick)', Number.parseFloat)
  .option('--scenario <names...>', `only these scenarios (${SCENARIOS.map((s) => s.name).join(', ')})`)
  .option('--out <dir>', 'results folder (default bench/results)')
  .option('--built', 'run the roles from dist/ (npm run build) instead of the sources through tsx')
  .action(async (opts: { quick?: boolean; scale?: number; scenario?: string[]; out?: string; built?: boolean }) => {
    const unknown = (opts.scenario ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
    if (unknown.length) {
      console.error(
        `bench: unknown scenario ${unknown.join(', ')}; choose from ${SCENARIOS.map((s) => s.name).join(', ')}`,
      );
      process.exit(2);
    }
    if (opts.scale !== undefined && !(opts.scale > 0)) {
      console.error('bench: --scale must be a positive number');
      process.exit(2);
    }
    const scenarios = opts.scenario ? SCENARIOS.filter((s) => opts.scenario!.includes(s.name)) : SCENARIOS;
    const report = await runBench({
      scenarios,
      quick: opts.quick,
      scale: opts.scale,
      outDir: opts.out,
      built: opts.built,
    });
    console.log('');
    for (const r of report.ratios) {
      console.log(
        `${met(r) ? 'met ' : 'MISS'}  ${r.name}: ${r.value.toFixed(2)} ${r.unit} (target ${r.comparison ?? '>='} ${r.target}; vs ${r.baseline})`,
      );
      if (!met(r)) console.log(`      why: ${r.whenMissed ?? "see the scenario's notes in the results"}`);
    }
    console.log(`\nResults: ${report.files.markdown} (JSON and SVG beside it)`);
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(1);
});
