import { renderMarkdown } from '../../bench/report';
import type { BenchReport } from '../../bench/run';
import { widestGaps } from '../../bench/timeline';

const seg = (key: string, label: string, p50: number) => ({ key, label, p50 }) as never;

describe('what a missed target is made of', () => {
  it('names the segments where the saga spends most beyond the bare workflow, largest first', () => {
    const saga = [
      seg('workflowTaskRun', 'workflow tasks running', 83),
      seg('activityRun', 'activities running', 70),
      seg('activityWait', 'activities waiting', 0.2),
      seg('readModel', 'last activity → read model updated', 2),
      seg('total', 'total', 206),
    ];
    const bare = [
      seg('workflowTaskRun', 'workflow tasks running', 45),
      seg('activityRun', 'activities running', 24),
      seg('activityWait', 'activities waiting', 0.2),
      seg('total', 'total', 105),
    ];
    expect(widestGaps(saga, bare)).toBe(
      'activities running 70 ms against 24 ms; workflow tasks running 83 ms against 45 ms; last activity → read model updated 2.0 ms against none',
    );
    expect(widestGaps(bare, saga)).toBe('no segment of the saga takes longer than the bare workflow’s');
  });

  it('lists each missed target with its reason in the report, and says so when every target is met', () => {
    const report = (met: boolean): BenchReport => ({
      startedAt: '2026-12-04T00:00:00Z',
      quick: true,
      scale: 1,
      machine: { cpus: 2, memoryGiB: 24, node: 'v20', platform: 'linux x64' },
      ratios: [
        { name: 'a', value: 0.5, target: 0.9, baseline: 'b', unit: 'x', met, scenario: 's', whenMissed: 'the cause' },
        { name: 'c', value: 2, target: 1.3, comparison: '<=', baseline: 'd', unit: 'x', met, scenario: 's' },
      ],
      figures: [],
      notes: {},
      files: { json: '', markdown: '', chart: '' },
    });
    const missed = renderMarkdown(report(false));
    expect(missed).toContain('- **a** (0.50 x): the cause');
    expect(missed).toContain("- **c** (2.00 x): see the scenario's notes below");
    const met = renderMarkdown(report(true));
    expect(met).toContain('Every target met.');
    expect(met).not.toContain('the cause');
  });
});
