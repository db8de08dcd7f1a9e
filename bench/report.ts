import type { BenchReport } from './run';

const fmt = (n: number): string =>
  !Number.isFinite(n) ? String(n) : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

/** Each missed target with the run's own reason and what would close it. */
function missedLines(report: BenchReport): string[] {
  const missed = report.ratios.filter((r) => !r.met);
  if (missed.length === 0) return ['Every target met.', ''];
  return [
    'Missed:',
    '',
    ...missed.map(
      (r) => `- **${r.name}** (${fmt(r.value)} ${r.unit}): ${r.whenMissed ?? "see the scenario's notes below"}`,
    ),
    '',
  ];
}

/** The Markdown table of one run: ratios against their targets, then the missed ones' reasons, then the raw figures. */
export function renderMarkdown(report: BenchReport): string {
  const lines = [
    `# Benchmark ${report.startedAt}${report.quick ? ' (quick)' : ''}`,
    '',
    `Machine: ${report.machine.cpus} cores, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}, ${report.machine.platform}; scale ${report.scale}.`,
    '',
    '| target | value | target | baseline | met |',
    '| --- | --- | --- | --- | --- |',
    ...report.ratios.map(
      (r) =>
        `| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.comparison ?? '>='} ${fmt(r.target)} ${r.unit} | ${r.baseline} | ${r.met ? 'yes' : '**no**'} |`,
    ),
    '',
    ...missedLines(report),
    '| scenario | figure | value |',
    '| --- | --- | --- |',
    ...report.figures.map((f) => `| ${f.scenario} | ${f.name} | ${fmt(f.value)} ${f.unit} |`),
    '',
  ];
  for (const [scenario, notes] of Object.entries(report.notes)) {
    if (notes.length === 0) continue;
    lines.push(`**${scenario}**`, '', ...notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
}

/** A bar per ratio, drawn against its target line (SVG, no dependencies). */
export function renderChart(report: BenchReport): string {
  const rows = report.ratios;
  const width = 760;
  const rowHeight = 28;
  const labelWidth = 300;
  const plot = width - labelWidth - 90;
  const height = rows.length * rowHeight + 40;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="18" font-weight="bold">Value / target per ratio (line = target; green = met)</text>`,
  ];
  rows.forEach((r, i) => {
    const y = 30 + i * rowHeight;
    // Normalised so the target sits at the middle of the plot; `<=` bounds are inverted.
    const rel = (r.comparison ?? '>=') === '>=' ? r.value / r.target : r.target / Math.max(r.value, 1e-9);
    const w = Math.max(1, Math.min(plot, (rel / 2) * plot));
    parts.push(
      `<text x="10" y="${y + 15}">${esc(r.name)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${w.toFixed(1)}" height="16" fill="${r.met ? '#2e8b57' : '#c0392b'}"/>`,
      `<line x1="${labelWidth + plot / 2}" y1="${y}" x2="${labelWidth + plot / 2}" y2="${y + rowHeight}" stroke="#333" stroke-dasharray="3,2"/>`,
      `<text x="${labelWidth + plot + 8}" y="${y + 15}">${esc(`${fmt(r.value)} ${r.unit}`)}</text>`,
    );
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
