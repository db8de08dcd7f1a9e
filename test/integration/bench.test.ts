import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TARGETS } from '../../bench/harness';
import { runBench } from '../../bench/run';
import { SCENARIOS } from '../../bench/scenarios';
import { resolveTemporalServer } from '../../src/temporal/server-binary';
import { testEnv } from '../helpers/env';

// The bench harness on a tiny workload, so it cannot rot: every scenario runs against the
// real servers and reports its ratios. Nothing here is timed: the figures are only checked
// to be measurements (finite, positive), never compared with a speed.

let out: string;
beforeAll(async () => {
  out = mkdtempSync(path.join(os.tmpdir(), 'saga-bench-'));
  // The cluster scenario's real Temporal server: the bench never builds it, so build it here
  // when missing, as temporal-server.test.ts does (a few minutes with Go, once per machine).
  await resolveTemporalServer({ onProgress: () => undefined });
}, 900_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('runs every scenario on a tiny workload and reports one ratio per target, as JSON, Markdown and SVG', async () => {
  const report = await runBench({
    scenarios: SCENARIOS,
    scale: 0.02,
    outDir: out,
    progressBars: false,
    // The roles from the run's build of dist/ (test/helpers/dist-setup.ts): each starts in half the CPU.
    built: true,
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
  const markdown = readFileSync(report.files.markdown, 'utf8');
  for (const name of TARGETS) expect(markdown).toContain(`| ${name} |`);
  // The console's Orders page: its p99 over HTTP is a figure beside the 100 ms, never asserted.
  const p99s = report.figures.filter((f) => f.scenario === 'console-orders' && f.name.includes('target < 100 ms'));
  expect(p99s.map((f) => f.name.split(':')[0]).sort()).toEqual(['filtered', 'first-page', 'next-page']);
  for (const f of p99s)
    expect({ name: f.name, finite: Number.isFinite(f.value) && f.value > 0 }).toEqual({ name: f.name, finite: true });
  expect(report.notes['console-orders']?.some((n) => n.includes('Plan (EXPLAIN ANALYZE'))).toBe(true);
  expect(readFileSync(report.files.chart, 'utf8')).toMatch(/^<svg/);
  expect(existsSync(path.join(out, 'latest.json'))).toBe(true);
}, 240_000);
