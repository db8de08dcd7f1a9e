import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { STUCK_PHASES } from '../../src/telemetry/saga-metrics';
import {
  ALERTS_FILE,
  type Dashboard,
  type DashboardPanel,
  dashboardExpressions,
  dashboardFiles,
  dashboardPanels,
  metricNamesInDeployFiles,
  promqlMetricNames,
  readAlertRules,
  readDashboard,
} from '../helpers/dashboard-metrics';
import {
  bindMounts,
  compose,
  envValue,
  imageParts,
  readRepoFile as read,
  ROOT,
  service,
  services,
  targetPort,
  type Service,
} from '../helpers/compose';
import { headingAnchors } from '../helpers/markdown';

/**
 * Static checks of the observability files under deploy/ (Grafana dashboard and provisioning,
 * Prometheus configuration and alert rules) and of their wiring in docker-compose.yml: no
 * Prometheus, Grafana or Docker is needed, but a renamed metric, a dangling mount or a scrape
 * job on the wrong port fails here.
 */

const DASHBOARD_FILE = 'deploy/grafana/dashboards/saga-orchestrator.json';
const PROMETHEUS_FILE = 'deploy/prometheus/prometheus.yml';
const DATASOURCE_FILE = 'deploy/grafana/provisioning/datasources/prometheus.yml';
const DASHBOARD_PROVIDER_FILE = 'deploy/grafana/provisioning/dashboards/dashboards.yml';
/** The operator's guide: the runbook_url of every alert points at one of its sections. */
const OPERATIONS_FILE = 'docs/operations.md';

/** The metrics the processes export (prom-client in src/ and the Temporal SDK's worker metrics). */
const METRICS: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  saga_api_http_request_duration_seconds: 'histogram',
  saga_api_orders_placed_total: 'counter',
  saga_relay_backlog_events: 'gauge',
  saga_relay_oldest_undelivered_age_seconds: 'gauge',
  saga_relay_published_total: 'counter',
  saga_broker_unrouted_total: 'counter',
  saga_consumer_lag_events: 'gauge',
  saga_dead_letters: 'gauge',
  saga_consumer_deliveries_total: 'counter',
  saga_consumer_retries_total: 'counter',
  saga_sagas_started_total: 'counter',
  saga_sagas_completed_total: 'counter',
  saga_sagas_cancelled_total: 'counter',
  saga_step_duration_seconds: 'histogram',
  saga_compensations_total: 'counter',
  saga_duration_seconds: 'histogram',
  saga_sagas_stuck: 'gauge',
  saga_approvals_waiting: 'gauge',
  saga_projection_lag_seconds: 'gauge',
  saga_events_held_back: 'gauge',
  saga_events_held_back_age_seconds: 'gauge',
  temporal_worker_task_slots_available: 'gauge',
  temporal_workflow_task_schedule_to_start_latency: 'histogram',
  temporal_activity_schedule_to_start_latency: 'histogram',
  temporal_request_latency: 'histogram',
};

/** The series names /metrics has for the catalog: a histogram's as _bucket, _sum and _count. */
const SERIES = new Set(
  Object.entries(METRICS).flatMap(([name, type]) =>
    type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
  ),
);
const baseName = (series: string): string => (series in METRICS ? series : series.replace(/_(bucket|sum|count)$/, ''));

// ---- docker-compose.yml --------------------------------------------------------------

/** Container ports reachable from the other services: published targets and `expose`. */
function containerPorts(svc: Service): number[] {
  const published = (svc.ports ?? []).map((port) =>
    typeof port === 'object' ? Number(port.target) : Number(String(port).split('/')[0]!.split(':').pop()),
  );
  return [...published, ...(svc.expose ?? []).map((p) => Number(String(p).split('/')[0]))];
}

/** Where a container path of `svc` comes from on the host, through its bind mounts. */
function hostPath(svc: Service, containerPath: string): string | undefined {
  for (const mount of bindMounts(svc)) {
    if (containerPath === mount.target) return mount.source;
    if (containerPath.startsWith(`${mount.target}/`)) {
      return path.join(mount.source, containerPath.slice(mount.target.length + 1));
    }
  }
  return undefined;
}

const OBSERVABILITY_SERVICES = ['prometheus', 'grafana', 'jaeger'];
/** The project's roles that export traces and metrics. */
const ROLES = ['worker', 'api', 'relay', 'consume'];

// ---- deploy/ files -------------------------------------------------------------------

interface ScrapeConfig {
  job_name?: string;
  metrics_path?: string;
  dns_sd_configs?: { names?: string[]; type?: string; port?: number }[];
  static_configs?: { targets?: string[] }[];
}

const prometheusConfig = parse(read(PROMETHEUS_FILE)) as {
  global?: { scrape_interval?: string };
  rule_files?: string[];
  scrape_configs?: ScrapeConfig[];
};
const dashboard: Dashboard = readDashboard(DASHBOARD_FILE);
const alerts = readAlertRules();
const alertRules = (alerts.groups ?? []).flatMap((g) => g.rules ?? []);

/** Top-level rows of a dashboard with the panels under each (nested ones of collapsed rows too). */
function rows(d: Dashboard): { title: string; panels: DashboardPanel[] }[] {
  const result: { title: string; panels: DashboardPanel[] }[] = [];
  for (const panel of d.panels ?? []) {
    if (panel.type === 'row') result.push({ title: panel.title ?? '', panels: [...(panel.panels ?? [])] });
    else if (result.length === 0) result.push({ title: '', panels: [panel] });
    else result[result.length - 1]!.panels.push(panel);
  }
  return result;
}

const panelMetrics = (panels: DashboardPanel[]): string[] => [
  ...new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => promqlMetricNames(t.expr ?? ''))).map(baseName)),
];

describe('PromQL metric name extraction', () => {
  it.each<[string, string[]]>([
    [
      'histogram_quantile(0.95, sum by (le, step) (rate(saga_step_duration_seconds_bucket[5m])))',
      ['saga_step_duration_seconds_bucket'],
    ],
    ['sum by (saga) (rate(saga_sagas_started_total{saga=~"$saga"}[$__rate_interval]))', ['saga_sagas_started_total']],
    [
      'temporal_worker_task_slots_available{worker_type=~"WorkflowWorker|ActivityWorker"} == 0',
      ['temporal_worker_task_slots_available'],
    ],
    [
      'max by (consumer) (saga_dead_letters{status="open"}) > 0 and max by (consumer) (delta(saga_dead_letters{status="open"}[15m])) > 0',
      ['saga_dead_letters'],
    ],
    [
      'sum(rate(http_total{route=~"/orders/{id}", status=~"5.."}[5m])) / clamp_min(sum(rate(http_total[5m] offset 1h)), 1e-9)',
      ['http_total'],
    ],
    [
      'sum without (instance) (job:requests:rate5m) * on (job) group_left (version) build_info',
      ['job:requests:rate5m', 'build_info'],
    ],
    ['label_replace(up, "dst", "$1", "instance", "(.*)") or vector(0)', ['up']],
    ['max_over_time(deriv(queue_depth[10m])[1h:1m]) > bool 0.5', ['queue_depth']],
    ['topk(5, sum by (route) (rate(a_count[${__interval}])))', ['a_count']],
  ])('%s', (expr, expected) => {
    expect(promqlMetricNames(expr)).toEqual(expected);
  });

  it('lists each deploy file with the metric names its PromQL references', () => {
    const found = metricNamesInDeployFiles();
    expect(found.map((f) => f.file)).toEqual(expect.arrayContaining([DASHBOARD_FILE, ALERTS_FILE]));
    for (const { file, metrics } of found) {
      expect({ file, empty: metrics.length === 0 }).toEqual({ file, empty: false });
    }
    const onDashboard = found.find((f) => f.file === DASHBOARD_FILE)!.metrics;
    expect(onDashboard).toEqual(
      expect.arrayContaining([
        'saga_step_duration_seconds_bucket',
        'temporal_activity_schedule_to_start_latency_bucket',
      ]),
    );
  });
});

describe('deploy files reference only exported metrics', () => {
  it.each(metricNamesInDeployFiles().map(({ file, metrics }) => [file, metrics] as const))('%s', (_file, metrics) => {
    expect(metrics.filter((name) => !SERIES.has(name))).toEqual([]);
  });

  it('puts every metric of the catalog on the dashboard', () => {
    const used = new Set(dashboardExpressions(dashboard).flatMap(promqlMetricNames).map(baseName));
    expect(Object.keys(METRICS).filter((name) => !used.has(name))).toEqual([]);
  });
});

describe(DASHBOARD_FILE, () => {
  const panels = dashboardPanels(dashboard);
  const graphs = panels.filter((p) => p.type !== 'row');

  it('is the only dashboard, with a fixed uid and a current schema', () => {
    expect(dashboardFiles()).toEqual([DASHBOARD_FILE]);
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  });

  it('groups its panels in the rows Sagas, Delivery, HTTP API, Temporal worker', () => {
    expect(rows(dashboard).map((r) => r.title)).toEqual(['Sagas', 'Delivery', 'HTTP API', 'Temporal worker']);
  });

  it.each<[string, string[]]>([
    [
      'Sagas',
      [
        'saga_sagas_started_total',
        'saga_sagas_completed_total',
        'saga_sagas_cancelled_total',
        'saga_step_duration_seconds',
        'saga_duration_seconds',
        'saga_compensations_total',
        'saga_sagas_stuck',
        'saga_approvals_waiting',
      ],
    ],
    [
      'Delivery',
      [
        'saga_relay_backlog_events',
        'saga_relay_oldest_undelivered_age_seconds',
        'saga_relay_published_total',
        'saga_broker_unrouted_total',
        'saga_consumer_lag_events',
        'saga_consumer_deliveries_total',
        'saga_consumer_retries_total',
        'saga_dead_letters',
        'saga_projection_lag_seconds',
        'saga_events_held_back',
        'saga_events_held_back_age_seconds',
      ],
    ],
    ['HTTP API', ['saga_api_http_request_duration_seconds', 'saga_api_orders_placed_total']],
    [
      'Temporal worker',
      [
        'temporal_worker_task_slots_available',
        'temporal_workflow_task_schedule_to_start_latency',
        'temporal_activity_schedule_to_start_latency',
        'temporal_request_latency',
      ],
    ],
  ])('shows the %s metrics in their row', (title, metrics) => {
    const row = rows(dashboard).find((r) => r.title === title);
    expect(row).toBeDefined();
    expect(panelMetrics(row!.panels).sort()).toEqual([...metrics].sort());
  });

  it('gives every panel at least one target with a PromQL expression and distinct refIds', () => {
    expect(graphs.length).toBeGreaterThan(0);
    const bad = graphs
      .filter((p) => {
        const targets = p.targets ?? [];
        const refIds = targets.map((t) => t.refId);
        return (
          targets.length === 0 ||
          targets.some((t) => !t.expr?.trim() || !t.refId) ||
          new Set(refIds).size !== refIds.length
        );
      })
      .map((p) => p.title);
    expect(bad).toEqual([]);
  });

  it('queries the provisioned Prometheus through the datasource variable', () => {
    const variables = dashboard.templating?.list ?? [];
    const datasource = variables.find((v) => v.name === 'datasource') as
      { type?: string; query?: string; current?: { value?: string } } | undefined;
    expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus', current: { value: 'prometheus' } });
    const provisioned = parse(read(DATASOURCE_FILE)) as { datasources?: { uid?: string }[] };
    expect(provisioned.datasources?.map((d) => d.uid)).toContain('prometheus');

    const refs = graphs.flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]);
    const wrong = refs.filter(
      (ds) =>
        ds !== undefined &&
        (typeof ds !== 'object' ||
          ds === null ||
          ds.type !== 'prometheus' ||
          !['${datasource}', 'prometheus'].includes(ds.uid ?? '')),
    );
    expect(wrong).toEqual([]);
  });

  it('has unique panel ids and a layout within 24 columns without overlaps', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = panels.map((p) => ({ title: p.title, ...p.gridPos! }));
    expect(boxes.filter((b) => b.x === undefined || b.x < 0 || b.w < 1 || b.x + b.w > 24 || b.h < 1)).toEqual([]);
    const overlaps: string[] = [];
    boxes.forEach((a, i) =>
      boxes.slice(i + 1).forEach((b) => {
        if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
          overlaps.push(`${a.title} / ${b.title}`);
        }
      }),
    );
    expect(overlaps).toEqual([]);
  });
});

describe(ALERTS_FILE, () => {
  const EXPECTED: Record<string, { metric: string; for: string }> = {
    SagaStepStuck: { metric: 'saga_sagas_stuck', for: '5m' },
    SagaCompensationStuck: { metric: 'saga_sagas_stuck', for: '5m' },
    ApprovalsWaiting: { metric: 'saga_approvals_waiting', for: '1h' },
    DeadLettersGrowing: { metric: 'saga_dead_letters', for: '5m' },
    EventsUnrouted: { metric: 'saga_broker_unrouted_total', for: '1m' },
    RelayBacklogOld: { metric: 'saga_relay_oldest_undelivered_age_seconds', for: '5m' },
    ConsumerLagHigh: { metric: 'saga_consumer_lag_events', for: '10m' },
    ProjectionLagHigh: { metric: 'saga_projection_lag_seconds', for: '5m' },
    EventsHeldBack: { metric: 'saga_events_held_back_age_seconds', for: '5m' },
    WorkerNoTaskSlots: { metric: 'temporal_worker_task_slots_available', for: '5m' },
  };

  it('defines the alerts of the saga orchestrator, each once', () => {
    const names = alertRules.map((r) => r.alert);
    expect([...names].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s watches its metric for its duration', (name, expected) => {
    const rule = alertRules.find((r) => r.alert === name);
    expect(promqlMetricNames(rule?.expr ?? '')).toEqual([expected.metric]);
    expect(rule?.for).toBe(expected.for);
  });

  it('gives every rule an expr, a for, a severity label and summary and description annotations', () => {
    expect(alertRules.length).toBeGreaterThan(0);
    const incomplete = alertRules
      .filter(
        (r) =>
          !r.alert ||
          !r.expr?.trim() ||
          !/^\d+[smhdwy]$/.test(r.for ?? '') ||
          !['critical', 'warning', 'info'].includes(r.labels?.severity ?? '') ||
          !r.annotations?.summary?.trim() ||
          !r.annotations?.description?.trim(),
      )
      .map((r) => r.alert ?? r.record ?? '?');
    expect(incomplete).toEqual([]);
  });

  it('tells a stuck step from a stuck compensation by the phase label', () => {
    /** The values a rule's expression selects for the `phase` label (`phase="…"`). */
    const phases = (name: string): string[] => {
      const expr = alertRules.find((r) => r.alert === name)?.expr ?? '';
      return [...expr.matchAll(/\bphase\s*=\s*"([^"]*)"/g)].map((m) => m[1]!);
    };
    expect(phases('SagaStepStuck')).toEqual(['STEP_STUCK']);
    expect(phases('SagaCompensationStuck')).toEqual(['COMPENSATION_STUCK']);
    // Together they cover every phase the gauge reports, and no other alert reads the gauge.
    expect([...phases('SagaStepStuck'), ...phases('SagaCompensationStuck')].sort()).toEqual([...STUCK_PHASES].sort());
    const readers = alertRules.filter((r) => promqlMetricNames(r.expr ?? '').includes('saga_sagas_stuck'));
    expect(readers.map((r) => r.alert).sort()).toEqual(['SagaCompensationStuck', 'SagaStepStuck']);
  });

  it(`gives every alert a runbook_url to a section of ${OPERATIONS_FILE}`, () => {
    const anchors = new Set(headingAnchors(read(OPERATIONS_FILE)));
    const prefix = `${OPERATIONS_FILE}#`;
    const broken = alertRules
      .filter((r) => {
        const url = r.annotations?.runbook_url ?? '';
        return !url.startsWith(prefix) || !anchors.has(url.slice(prefix.length));
      })
      .map((r) => `${r.alert}: ${r.annotations?.runbook_url ?? '(none)'}`);
    expect(broken).toEqual([]);
    // One section per alert.
    const urls = alertRules.map((r) => r.annotations?.runbook_url);
    expect(new Set(urls).size).toBe(urls.length);
  });

  it('names every group once', () => {
    const names = (alerts.groups ?? []).map((g) => g.name);
    expect(names.every((n) => typeof n === 'string' && n !== '')).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe(OPERATIONS_FILE, () => {
  const guide = read(OPERATIONS_FILE);

  it.each<[string, string[]]>([
    ['# Operations\n## The CLI\n### SagaStepStuck', ['operations', 'the-cli', 'sagastepstuck']],
    ['## `saga dlq` and [delivery](delivery.md)!', ['saga-dlq-and-delivery']],
    ['## What *to* do: retry / abandon ##', ['what-to-do-retry--abandon']],
    ['## Fix\n```sh\n# not a heading\n```\n## Fix', ['fix', 'fix-1']],
  ])('computes GitHub heading anchors: %j', (markdown, expected) => {
    expect(headingAnchors(markdown)).toEqual(expected);
  });

  it('mentions every alert', () => {
    expect(alertRules.map((r) => r.alert!).filter((name) => !guide.includes(name))).toEqual([]);
  });

  it('links only to its own headings', () => {
    const anchors = new Set(headingAnchors(guide));
    const links = [...guide.matchAll(/\]\(#([^)]*)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((a) => !anchors.has(a))).toEqual([]);
  });
});

describe(PROMETHEUS_FILE, () => {
  const jobs = prometheusConfig.scrape_configs ?? [];
  const job = (name: string): ScrapeConfig | undefined => jobs.find((j) => j.job_name === name);

  it('loads the alert rules from where docker-compose.yml mounts them', () => {
    expect(prometheusConfig.rule_files).toContain('/etc/prometheus/alerts.yml');
    for (const file of prometheusConfig.rule_files ?? []) {
      expect(hostPath(service('prometheus'), file)).toBe(path.join(ROOT, ALERTS_FILE));
    }
  });

  it.each([
    ['api', 'PORT'],
    ['worker', 'HEALTH_PORT'],
    ['relay', 'HEALTH_PORT'],
    ['consume', 'HEALTH_PORT'],
  ])('scrapes every %s replica on /metrics at its %s, found through Docker DNS', (name, variable) => {
    const port = Number(envValue(service(name), variable));
    expect(port).toBeGreaterThan(0);
    const scrape = job(name);
    expect(scrape?.metrics_path ?? '/metrics').toBe('/metrics');
    expect(scrape?.dns_sd_configs).toEqual([expect.objectContaining({ names: [name], type: 'A', port })]);
  });

  it("scrapes the Temporal server's metrics endpoint", () => {
    const endpoint = envValue(service('temporal'), 'PROMETHEUS_ENDPOINT') ?? '';
    expect(endpoint).toMatch(/^0\.0\.0\.0:\d+$/);
    const port = Number(endpoint.split(':')[1]);
    expect(containerPorts(service('temporal'))).toContain(port);
    expect(job('temporal')?.static_configs?.flatMap((s) => s.targets ?? [])).toEqual([`temporal:${port}`]);
  });

  it('scrapes only hosts that are services of docker-compose.yml', () => {
    const hosts = jobs.flatMap((j) => [
      ...(j.dns_sd_configs ?? []).flatMap((d) => d.names ?? []),
      ...(j.static_configs ?? []).flatMap((s) => (s.targets ?? []).map((t) => t.split(':')[0]!)),
    ]);
    expect(hosts.filter((h) => !(h in services) && h !== '127.0.0.1' && h !== 'localhost')).toEqual([]);
  });
});

describe('docker-compose.yml: observability', () => {
  it.each(OBSERVABILITY_SERVICES)('pins the %s image to a release', (name) => {
    const { tag } = imageParts(service(name).image);
    expect(tag).toMatch(/^v?\d+\.\d+\.\d+$/);
  });

  it('mounts only files and directories that exist', () => {
    const missing = OBSERVABILITY_SERVICES.flatMap((name) =>
      bindMounts(service(name))
        .filter((m) => !existsSync(m.source))
        .map((m) => `${name}: ${path.relative(ROOT, m.source)}`),
    );
    expect(missing).toEqual([]);
  });

  it('runs Prometheus with its configuration and alert rules mounted read-only, on 9090', () => {
    const prometheus = service('prometheus');
    expect(imageParts(prometheus.image).repository).toBe('prom/prometheus');
    const mounts = bindMounts(prometheus);
    expect(mounts).toContainEqual({
      source: path.join(ROOT, PROMETHEUS_FILE),
      target: '/etc/prometheus/prometheus.yml',
      readOnly: true,
    });
    expect(mounts).toContainEqual({
      source: path.join(ROOT, ALERTS_FILE),
      target: '/etc/prometheus/alerts.yml',
      readOnly: true,
    });
    expect(targetPort(prometheus, 9090)).toBe(9090);
  });

  it('provisions Grafana with the Prometheus data source and the dashboards, on 3001', () => {
    const grafana = service('grafana');
    expect(imageParts(grafana.image).repository).toBe('grafana/grafana');
    expect(targetPort(grafana, 3001)).toBe(3000);
    expect(hostPath(grafana, '/etc/grafana/provisioning/datasources/prometheus.yml')).toBe(
      path.join(ROOT, DATASOURCE_FILE),
    );
    expect(hostPath(grafana, '/etc/grafana/provisioning/dashboards/dashboards.yml')).toBe(
      path.join(ROOT, DASHBOARD_PROVIDER_FILE),
    );
    expect(bindMounts(grafana).every((m) => m.readOnly)).toBe(true);

    // The file provider's path is where the dashboards are mounted.
    const provider = parse(read(DASHBOARD_PROVIDER_FILE)) as {
      providers?: { type?: string; options?: { path?: string } }[];
    };
    const providerPath = provider.providers?.[0]?.options?.path ?? '';
    expect(provider.providers?.[0]?.type).toBe('file');
    expect(providerPath).toBe('/var/lib/grafana/dashboards');
    expect(hostPath(grafana, path.posix.join(providerPath, path.basename(DASHBOARD_FILE)))).toBe(
      path.join(ROOT, DASHBOARD_FILE),
    );
    const home = envValue(grafana, 'GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH');
    if (home !== undefined) expect(existsSync(hostPath(grafana, home) ?? '')).toBe(true);
  });

  it('points the data source at the prometheus service', () => {
    const file = parse(read(DATASOURCE_FILE)) as { datasources?: { uid?: string; type?: string; url?: string }[] };
    const datasource = file.datasources?.find((d) => d.uid === 'prometheus');
    expect(datasource?.type).toBe('prometheus');
    expect(datasource?.url).toBe('http://prometheus:9090');
    const url = new URL(datasource?.url ?? 'http://invalid');
    expect(containerPorts(service(url.hostname))).toContain(Number(url.port));
  });

  it('runs Jaeger with its UI on 16686 and OTLP/HTTP on 4318', () => {
    const jaeger = service('jaeger');
    expect(['jaegertracing/jaeger', 'jaegertracing/all-in-one']).toContain(imageParts(jaeger.image).repository);
    expect(targetPort(jaeger, 16686)).toBe(16686);
    expect(targetPort(jaeger, 4318)).toBe(4318);
  });

  it.each(ROLES)('sends the traces of %s to Jaeger over OTLP/HTTP, leaving the service name to the app', (name) => {
    const svc = service(name);
    const endpoint = new URL(envValue(svc, 'OTEL_EXPORTER_OTLP_ENDPOINT') ?? 'http://invalid');
    expect(endpoint.hostname).toBe('jaeger');
    expect(containerPorts(service(endpoint.hostname))).toContain(Number(endpoint.port));
    expect(endpoint.port).toBe('4318');
    expect(envValue(svc, 'OTEL_SERVICE_NAME')).toBeUndefined();
  });

  it('lists the observability URLs in its header comment', () => {
    const lines = read('docker-compose.yml').split('\n');
    const header = lines
      .slice(
        0,
        lines.findIndex((line) => !line.startsWith('#')),
      )
      .join('\n');
    expect(header).toMatch(/Prometheus\s+http:\/\/localhost:9090/);
    expect(header).toMatch(/Grafana\s+http:\/\/localhost:3001/);
    expect(header).toMatch(/Jaeger[\w ]*\s+http:\/\/localhost:16686/);
  });
});
