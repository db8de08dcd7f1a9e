import { FAULT_KINDS } from './scenarios';
import type { ExploreReport, ScenarioResult } from './explore';

/** The exploration as a step × fault matrix: each cell the saga's outcome, ✓ when every invariant held. */
export function formatMatrix(report: ExploreReport): string {
  const kinds = FAULT_KINDS.filter((k) => report.results.some((r) => r.scenario.kind === k));
  const rows = [...new Set(report.results.map((r) => r.scenario.step))];
  const cell = (step: string, kind: string) =>
    report.results
      .filter((r) => r.scenario.step === step && r.scenario.kind === kind)
      .map((r) => `${r.ok ? '✓' : '✗'} ${r.outcome}`.replace(/\|/g, '\\|'))
      .join('<br>') || '—';
  const failed = report.results.filter((r) => !r.ok);
  return [
    `## ${report.saga}: ${report.results.length} scenarios, ${failed.length} failed (${(report.ms / 1000).toFixed(0)} s)`,
    '',
    `| step | ${kinds.join(' | ')} |`,
    `| --- | ${kinds.map(() => '---').join(' | ')} |`,
    ...rows.map((step) => `| ${step} | ${kinds.map((k) => cell(step, k)).join(' | ')} |`),
    '',
    ...(failed.length ? ['Failed invariants:', '', ...failed.flatMap(describeFailure), ''] : []),
  ].join('\n');
}

function describeFailure(result: ScenarioResult): string[] {
  return result.checks
    .filter((c) => !c.ok)
    .map((c) => `- ${result.scenario.id} (${result.scenario.description}): ${c.name}: ${c.detail}`);
}

/** The report as JSON: every scenario with its faults, outcome and every check. */
export const reportJson = (report: ExploreReport): string => `${JSON.stringify(report, null, 2)}\n`;
