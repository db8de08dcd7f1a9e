import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TARGETS } from '../../bench/harness';
import { runBench } from '../../bench/run';
import { SCENARIOS } from '../../bench/scenarios';
import { testEnv } from '../helpers/env';

// The bench harness on a tiny workload, so it cannot rot: every scenario runs against the
// real servers and reports its ratios. Nothing here is timed: the figures are only checked
// to be measurements (finite, positive), never compared with a speed.

let out: string;
beforeAll(() => {
  out = mkdtempSync(path.join(os.tmpdir(), 'saga-bench-'));
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('runs every scenario on a tiny workload and reports one ratio per target, as JSON, Markdown and SVG', async () => {
  const report = await runBench({
    scenarios: SCENARIOS,
    scale: 0.02,
    outDir: out,
    progressBars: false,
    env: {
      ...process.env,
      DATABASE_URL: testEnv('pgAdminUrl'),
      TEMPORAL_CLI: testEnv('temporalCli'),
      AMQP_URL: testEnv('amqpUrl'),
      NATS_URL: testEnv('natsUrl'),
    },
  });
  const names = report.ratios.map((r) => r.name);
  expect([...names].sort()).toEqual([...TARGETS].sort());
  for (const r of report.ratios) {
    expect({ name: r.name, finite: Number.isFinite(r.value) && r.value > 0 }).toEqual({ name: r.name, finite: true });
    expect(r.baseline.length).toBeGreaterThan(0);
  }
  const json = JSON.parse(readFileSync(report.files.json, 'utf8')) as { ratios: { name: string }[] };
  expect(json.ratios.map((r) => r.name)).toEqual(names);
  expect(readFileSync(report.files.markdown, 'utf8')).toContain('| saga-vs-bare-workflow |');
  expect(readFileSync(report.files.chart, 'utf8')).toMatch(/^<svg/);
  expect(existsSync(path.join(out, 'latest.json'))).toBe(true);
});
