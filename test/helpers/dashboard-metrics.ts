import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * Metric names referenced by the observability files under deploy/: the PromQL of every
 * Grafana dashboard panel (and its template variables' label_values) and of every
 * Prometheus alert rule, so a test can hold them against the metrics the processes export.
 */

const ROOT = path.resolve(__dirname, '../..');
export const DASHBOARDS_DIR = 'deploy/grafana/dashboards';
export const ALERTS_FILE = 'deploy/prometheus/alerts.yml';

/** PromQL words that are not metric names: aggregations, keywords, literals, functions. */
const PROMQL_WORDS = new Set(
  [
    // aggregation operators and their modifiers
    'sum avg min max count group stddev stdvar topk bottomk quantile count_values limitk limit_ratio',
    'by without on ignoring group_left group_right bool offset start end',
    // logical / set operators and literals
    'and or unless atan2 inf nan',
    // functions (also skipped whenever a word is followed by "(")
    'abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week day_of_year',
    'days_in_month delta deriv exp floor histogram_avg histogram_count histogram_fraction histogram_quantile',
    'histogram_stddev histogram_stdvar histogram_sum holt_winters double_exponential_smoothing hour idelta',
    'increase irate label_join label_replace ln log2 log10 minute month predict_linear rate resets round',
    'scalar sgn sort sort_desc sort_by_label sort_by_label_desc sqrt time timestamp vector year',
    'avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time',
    'stddev_over_time stdvar_over_time last_over_time present_over_time mad_over_time',
    'acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad pi',
    // Grafana template helper
    'label_values',
  ]
    .join(' ')
    .split(/\s+/),
);

/**
 * Metric names in one PromQL expression, as written (histogram series keep their `_bucket`,
 * `_sum` or `_count` suffix), each once, in order of appearance. Label names inside `{…}`,
 * grouping labels of `by (…)`/`on (…)`, range and subquery durations, strings, numbers and
 * Grafana variables (`$saga`, `$__rate_interval`) are not metric names.
 */
export function promqlMetricNames(expr: string): string[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/#.*$/gm, '') // comments
    .replace(/\$\{[^}]*\}|\$\w+/g, '') // Grafana variables
    .replace(/\{[^}]*\}/g, '{}') // label matchers
    .replace(/\[[^\]]*\]/g, '[]') // range and subquery selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, '$1 ()'); // grouping labels
  const names: string[] = [];
  // Numbers (with exponent, duration units or hex) are matched first so their letters are not taken as names.
  const token = /0x[0-9a-f]+|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?(?:ms|[smhdwy])*|[a-zA-Z_:][a-zA-Z0-9_:]*/gi;
  for (const match of text.matchAll(token)) {
    const word = match[0];
    if (!/^[a-zA-Z_:]/.test(word)) continue;
    if (PROMQL_WORDS.has(word.toLowerCase())) continue;
    const after = text.slice(match.index! + word.length).trimStart();
    if (after.startsWith('(')) continue; // a function call
    if (!names.includes(word)) names.push(word);
  }
  return names;
}

export interface DashboardPanel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string } | string | null;
  targets?: { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } | null }[];
  panels?: DashboardPanel[];
  gridPos?: { h: number; w: number; x: number; y: number };
}

export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: DashboardPanel[];
  templating?: { list?: { name?: string; type?: string; query?: unknown; definition?: string }[] };
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface AlertRules {
  groups?: { name?: string; rules?: AlertRule[] }[];
}

/** Every panel of a dashboard, rows included, with those nested in collapsed rows. */
export function dashboardPanels(dashboard: Dashboard): DashboardPanel[] {
  const walk = (panels: DashboardPanel[] = []): DashboardPanel[] =>
    panels.flatMap((panel) => [panel, ...walk(panel.panels)]);
  return walk(dashboard.panels);
}

/** The PromQL of a dashboard: every panel target's expr and the metrics of its query variables. */
export function dashboardExpressions(dashboard: Dashboard): string[] {
  const targets = dashboardPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((t) => t.expr ?? '').filter((expr) => expr.trim() !== ''),
  );
  const variables = (dashboard.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => (typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? '')))
    // label_values(metric{…}, label): the metric selector is PromQL; label_values(label) names no metric.
    .map((query) => /^\s*label_values\s*\(\s*((?:[^,{]|\{[^}]*\})+?)\s*,/.exec(query)?.[1] ?? '')
    .filter((selector) => selector !== '');
  return [...targets, ...variables];
}

export function readDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as Dashboard;
}

export function readAlertRules(file: string = ALERTS_FILE): AlertRules {
  return parse(readFileSync(path.join(ROOT, file), 'utf8')) as AlertRules;
}

/** The dashboards' files, relative to the repository root. */
export function dashboardFiles(): string[] {
  return readdirSync(path.join(ROOT, DASHBOARDS_DIR))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => `${DASHBOARDS_DIR}/${name}`);
}

const unique = (names: string[]): string[] => [...new Set(names)];

/**
 * The metric names each observability file references, as written in its PromQL (so a
 * histogram appears as `…_bucket`, `…_count` or `…_sum`, the lines /metrics has for it).
 * Files are relative to the repository root: every dashboard, then the alert rules.
 */
export function metricNamesInDeployFiles(): { file: string; metrics: string[] }[] {
  const dashboards = dashboardFiles().map((file) => ({
    file,
    metrics: unique(dashboardExpressions(readDashboard(file)).flatMap(promqlMetricNames)),
  }));
  const alerts = {
    file: ALERTS_FILE,
    metrics: unique(
      (readAlertRules().groups ?? []).flatMap((g) => (g.rules ?? []).flatMap((r) => promqlMetricNames(r.expr ?? ''))),
    ),
  };
  return [...dashboards, alerts];
}
