/**
 * Keel's Grafana dashboards (edge, runners, workspaces, AI), written as code so that each panel
 * is a line and the JSON stays uniform; `node --import tsx scripts/lib/grafana-dashboards.ts`
 * writes them to deploy/monitoring/grafana/dashboards/, where Grafana's provisioning reads them.
 * A test checks the committed JSON is what this makes, and that every metric it queries is in
 * edge/contract/src/metrics.ts.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The data source uid set in deploy/monitoring/grafana/provisioning/datasources/keel.yml. */
export const DATASOURCE_UID = 'keel-prometheus';
export const DASHBOARDS_DIR = fileURLToPath(
  new URL('../../deploy/monitoring/grafana/dashboards/', import.meta.url),
);

const datasource = { type: 'prometheus', uid: DATASOURCE_UID } as const;

interface Query {
  expr: string;
  legend?: string;
}
interface PanelSpec {
  title: string;
  description?: string;
  unit?: string;
  queries: Query[];
  /** A red line at an alert's threshold (alerts.yml). */
  threshold?: number;
  /** Full width instead of half. */
  wide?: boolean;
  max?: number;
}
interface Variable {
  name: string;
  label: string;
  /** A label_values(...) query. */
  query: string;
}
interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: Variable[];
  panels: PanelSpec[];
}

function timeseries(p: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }) {
  return {
    id,
    type: 'timeseries',
    title: p.title,
    ...(p.description ? { description: p.description } : {}),
    datasource,
    gridPos,
    fieldConfig: {
      defaults: {
        unit: p.unit ?? 'short',
        ...(p.max !== undefined ? { max: p.max, min: 0 } : {}),
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: 10,
          showPoints: 'never',
          ...(p.threshold !== undefined ? { thresholdsStyle: { mode: 'line' } } : {}),
        },
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'green', value: null },
            ...(p.threshold !== undefined ? [{ color: 'red', value: p.threshold }] : []),
          ],
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: p.queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource,
      expr: q.expr,
      legendFormat: q.legend ?? '__auto',
      range: true,
    })),
  };
}

function dashboard(spec: DashboardSpec) {
  let x = 0;
  let y = 0;
  const panels = spec.panels.map((p, i) => {
    const w = p.wide ? 24 : 12;
    if (x + w > 24) {
      x = 0;
      y += 8;
    }
    const panel = timeseries(p, i + 1, { x, y, w, h: 8 });
    x += w;
    return panel;
  });
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['keel'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    links: [{ type: 'dashboards', tags: ['keel'], asDropdown: true, title: 'Keel' }],
    templating: {
      list: spec.variables.map((v) => ({
        type: 'query',
        name: v.name,
        label: v.label,
        datasource,
        definition: v.query,
        query: { query: v.query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
        refresh: 2,
        includeAll: true,
        multi: true,
        allValue: '.*',
        current: { selected: true, text: ['All'], value: ['$__all'] },
        sort: 1,
      })),
    },
    panels,
  };
}

const E = 'instance=~"$instance"';
const R = '[$__rate_interval]';

const edge: DashboardSpec = {
  uid: 'keel-edge',
  title: 'Keel / Edge',
  description:
    'The edges: requests, errors, latency, streams, Redis, database, sign-ins, limits, caches, audit.',
  variables: [{ name: 'instance', label: 'Edge', query: 'label_values(keel_http_requests_total, instance)' }],
  panels: [
    {
      title: 'Requests per second, by status',
      unit: 'reqps',
      queries: [{ expr: `sum by (status) (rate(keel_http_requests_total{${E}}${R}))`, legend: '{{status}}' }],
    },
    {
      title: 'Share of 5xx answers',
      description: 'Alert KeelHighErrorRate: over 1% for 5 minutes.',
      unit: 'percentunit',
      threshold: 0.01,
      queries: [
        {
          expr: `sum(rate(keel_http_requests_total{${E}, status=~"5.."}${R})) / sum(rate(keel_http_requests_total{${E}}${R}))`,
          legend: '5xx',
        },
      ],
    },
    {
      title: 'Latency, all routes',
      description: 'Alert KeelHighLatencyP99: p99 over 2.5 s for 10 minutes.',
      unit: 's',
      threshold: 2.5,
      queries: [
        {
          expr: `histogram_quantile(0.5, sum by (le) (rate(keel_http_request_duration_seconds_bucket{${E}}${R})))`,
          legend: 'p50',
        },
        {
          expr: `histogram_quantile(0.99, sum by (le) (rate(keel_http_request_duration_seconds_bucket{${E}}${R})))`,
          legend: 'p99',
        },
      ],
    },
    {
      title: 'p99 latency of the slowest routes',
      unit: 's',
      queries: [
        {
          expr: `topk(10, histogram_quantile(0.99, sum by (le, route, method) (rate(keel_http_request_duration_seconds_bucket{${E}}${R}))))`,
          legend: '{{method}} {{route}}',
        },
      ],
    },
    {
      title: 'Busiest routes',
      unit: 'reqps',
      queries: [
        {
          expr: `topk(10, sum by (route, method) (rate(keel_http_requests_total{${E}}${R})))`,
          legend: '{{method}} {{route}}',
        },
      ],
    },
    {
      title: 'Open streams and WebSockets',
      queries: [{ expr: `sum by (kind) (keel_http_open_streams{${E}})`, legend: '{{kind}}' }],
    },
    {
      title: 'Redis p99, by command',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (le, command) (rate(keel_redis_command_duration_seconds_bucket{${E}}${R})))`,
          legend: '{{command}}',
        },
      ],
    },
    {
      title: 'Redis errors per second',
      unit: 'ops',
      queries: [
        { expr: `sum by (command) (rate(keel_redis_errors_total{${E}}${R}))`, legend: '{{command}}' },
      ],
    },
    {
      title: 'Database p99, by operation',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (le, operation) (rate(keel_db_query_duration_seconds_bucket{${E}}${R})))`,
          legend: '{{operation}}',
        },
      ],
    },
    {
      title: 'Database errors per second',
      unit: 'ops',
      queries: [
        { expr: `sum by (operation) (rate(keel_db_errors_total{${E}}${R}))`, legend: '{{operation}}' },
      ],
    },
    {
      title: 'Database pool connections',
      queries: [{ expr: `sum by (state) (keel_db_pool_connections{${E}})`, legend: '{{state}}' }],
    },
    {
      title: 'Cache hit ratio',
      unit: 'percentunit',
      max: 1,
      queries: [
        {
          expr: `sum by (cache) (rate(keel_cache_requests_total{${E}, result="hit"}${R})) / sum by (cache) (rate(keel_cache_requests_total{${E}}${R}))`,
          legend: '{{cache}}',
        },
      ],
    },
    {
      title: 'Sign-in failures per second',
      unit: 'ops',
      queries: [
        { expr: `sum by (method) (rate(keel_sign_in_failures_total{${E}}${R}))`, legend: '{{method}}' },
      ],
    },
    {
      title: 'Rate-limit refusals per second',
      unit: 'ops',
      queries: [
        { expr: `sum by (scope) (rate(keel_rate_limit_refusals_total{${E}}${R}))`, legend: '{{scope}}' },
      ],
    },
    {
      title: 'Audit chain verified (1 = intact)',
      description: 'Alert KeelAuditChainBroken at 0.',
      max: 1,
      queries: [{ expr: 'min by (organization) (keel_audit_chain_verified)', legend: '{{organization}}' }],
    },
    {
      title: 'Time since the last audit chain check',
      description: 'Alert KeelAuditChainCheckStale: over 3 hours.',
      unit: 's',
      threshold: 10800,
      queries: [
        {
          expr: 'time() - max by (organization) (keel_audit_chain_last_check_timestamp_seconds)',
          legend: '{{organization}}',
        },
      ],
    },
  ],
};

const runners: DashboardSpec = {
  uid: 'keel-runners',
  title: 'Keel / Runners',
  description:
    'The runners: reachability, heartbeats, jobs, calls, queues, host disk and memory, streams, server connections and certificates.',
  variables: [{ name: 'instance', label: 'Runner', query: 'label_values(up{job="keel-runner"}, instance)' }],
  panels: [
    {
      title: 'Runners reachable (1 = up)',
      description: 'Alert KeelRunnerDown: 0 for 2 minutes.',
      max: 1,
      queries: [{ expr: `up{job="keel-runner", ${E}}`, legend: '{{instance}}' }],
    },
    {
      title: 'Heartbeat age, as the edges see it',
      description: 'Alerts KeelRunnerHeartbeatLate (over 30 s) and KeelServerHeartbeatLate (over 60 s).',
      unit: 's',
      threshold: 30,
      queries: [
        {
          expr: 'min by (runner, server) (keel_runner_heartbeat_age_seconds)',
          legend: '{{runner}} {{server}}',
        },
      ],
    },
    {
      title: 'Jobs per second, by type and outcome',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (type, outcome) (rate(keel_runner_jobs_total{${E}}${R}))`,
          legend: '{{type}} {{outcome}}',
        },
      ],
    },
    {
      title: 'Job duration p95, by type',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.95, sum by (le, type) (rate(keel_runner_job_duration_seconds_bucket{${E}}${R})))`,
          legend: '{{type}}',
        },
      ],
    },
    {
      title: 'Calls per second, by type and outcome',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (type, outcome) (rate(keel_runner_calls_total{${E}}${R}))`,
          legend: '{{type}} {{outcome}}',
        },
      ],
    },
    {
      title: 'Call duration p99, by type',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (le, type) (rate(keel_runner_call_duration_seconds_bucket{${E}}${R})))`,
          legend: '{{type}}',
        },
      ],
    },
    {
      title: 'Jobs waiting, by queue',
      description: 'Alert KeelRunnerQueueBacklog: over 50 for 10 minutes.',
      threshold: 50,
      queries: [
        {
          expr: `sum by (instance, queue) (keel_runner_queue_depth{${E}})`,
          legend: '{{instance}} {{queue}}',
        },
      ],
    },
    {
      title: 'Queue wait p95, by queue',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.95, sum by (le, queue) (rate(keel_runner_queue_wait_seconds_bucket{${E}}${R})))`,
          legend: '{{queue}}',
        },
      ],
    },
    {
      title: 'Workspace disk in use',
      description: 'Alert KeelRunnerDiskAlmostFull: over 85% for 10 minutes.',
      unit: 'percentunit',
      max: 1,
      threshold: 0.85,
      queries: [{ expr: `keel_runner_disk_used_ratio{${E}}`, legend: '{{instance}}' }],
    },
    {
      title: 'Host memory in use',
      description: 'Alert KeelRunnerMemoryPressure: over 90% for 10 minutes.',
      unit: 'percentunit',
      max: 1,
      threshold: 0.9,
      queries: [{ expr: `keel_runner_memory_used_ratio{${E}}`, legend: '{{instance}}' }],
    },
    {
      title: 'Stream bytes per second, by kind',
      unit: 'Bps',
      queries: [
        { expr: `sum by (kind) (rate(keel_runner_stream_bytes_total{${E}}${R}))`, legend: '{{kind}}' },
      ],
    },
    {
      title: 'Stream lag p99, by kind',
      unit: 's',
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (le, kind) (rate(keel_runner_stream_lag_seconds_bucket{${E}}${R})))`,
          legend: '{{kind}}',
        },
      ],
    },
    {
      title: 'Terminal sessions open',
      queries: [{ expr: `sum by (instance) (keel_runner_terminal_sessions{${E}})`, legend: '{{instance}}' }],
    },
    {
      title: 'Failed server connections in 15 minutes, by kind and code',
      description:
        'Connection tests and resource collections that failed (keel_runner_connection_tests_total). Alert KeelServerConnectionTestsFailing: over 0 for 5 minutes.',
      queries: [
        {
          expr: `sum by (kind, code) (increase(keel_runner_connection_tests_total{${E}, outcome="error"}[15m]))`,
          legend: '{{kind}} {{code}}',
        },
      ],
    },
    {
      title: 'Time left on server certificates',
      description:
        'Earliest notAfter of each Docker TLS or Kubernetes server’s CA and client certificates, as the edges read them. Alerts KeelCertificateExpiringSoon (under 14 days) and KeelCertificateExpiryImminent (under 3 days).',
      unit: 's',
      threshold: 14 * 86400,
      queries: [
        {
          expr: 'min by (name, certificate) (keel_server_certificate_expiry_timestamp_seconds) - time()',
          legend: '{{name}} {{certificate}}',
        },
      ],
    },
  ],
};

const W = 'instance=~"$instance"';
const workspaces: DashboardSpec = {
  uid: 'keel-workspaces',
  title: 'Keel / Workspaces',
  description: 'Workspaces over time and the ones using the most CPU, memory, disk and network.',
  variables: [{ name: 'instance', label: 'Runner', query: 'label_values(keel_runner_workspaces, instance)' }],
  panels: [
    {
      title: 'Workspaces, by state',
      wide: true,
      queries: [{ expr: `sum by (state) (keel_runner_workspaces{${W}})`, legend: '{{state}}' }],
    },
    {
      title: 'CPU, top 10 workspaces',
      unit: 'percentunit',
      description: 'CPU seconds per second: 1 is one core.',
      queries: [
        { expr: `topk(10, rate(keel_workspace_cpu_seconds_total{${W}}${R}))`, legend: '{{workspace}}' },
      ],
    },
    {
      title: 'Memory, top 10 workspaces',
      unit: 'bytes',
      queries: [{ expr: `topk(10, keel_workspace_memory_bytes{${W}})`, legend: '{{workspace}}' }],
    },
    {
      title: 'Memory used of its limit, top 10 workspaces',
      unit: 'percentunit',
      max: 1,
      queries: [
        {
          expr: `topk(10, keel_workspace_memory_bytes{${W}} / keel_workspace_memory_limit_bytes{${W}})`,
          legend: '{{workspace}}',
        },
      ],
    },
    {
      title: 'Disk, top 10 workspaces',
      unit: 'bytes',
      queries: [{ expr: `topk(10, keel_workspace_disk_bytes{${W}})`, legend: '{{workspace}}' }],
    },
    {
      title: 'Network received, top 10 workspaces',
      unit: 'Bps',
      queries: [
        {
          expr: `topk(10, rate(keel_workspace_network_receive_bytes_total{${W}}${R}))`,
          legend: '{{workspace}}',
        },
      ],
    },
    {
      title: 'Network sent, top 10 workspaces',
      unit: 'Bps',
      queries: [
        {
          expr: `topk(10, rate(keel_workspace_network_transmit_bytes_total{${W}}${R}))`,
          legend: '{{workspace}}',
        },
      ],
    },
  ],
};

const ai: DashboardSpec = {
  uid: 'keel-ai',
  title: 'Keel / AI',
  description: 'Model calls, errors, tokens and time to first token, by model.',
  variables: [{ name: 'model', label: 'Model', query: 'label_values(keel_ai_calls_total, model)' }],
  panels: [
    {
      title: 'Calls per second, by model and outcome',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (model, outcome) (rate(keel_ai_calls_total{model=~"$model"}${R}))`,
          legend: '{{model}} {{outcome}}',
        },
      ],
    },
    {
      title: 'Share of calls failing, by model',
      unit: 'percentunit',
      queries: [
        {
          expr: `sum by (model) (rate(keel_ai_calls_total{model=~"$model", outcome="error"}${R})) / sum by (model) (rate(keel_ai_calls_total{model=~"$model"}${R}))`,
          legend: '{{model}}',
        },
      ],
    },
    {
      title: 'Time to first token, by model',
      description: 'Alert KeelAiSlowFirstToken: p95 over 5 s for 10 minutes.',
      unit: 's',
      threshold: 5,
      queries: [
        {
          expr: `histogram_quantile(0.5, sum by (le, model) (rate(keel_ai_time_to_first_token_seconds_bucket{model=~"$model"}${R})))`,
          legend: 'p50 {{model}}',
        },
        {
          expr: `histogram_quantile(0.95, sum by (le, model) (rate(keel_ai_time_to_first_token_seconds_bucket{model=~"$model"}${R})))`,
          legend: 'p95 {{model}}',
        },
      ],
    },
    {
      title: 'Tokens per second, by model and direction',
      queries: [
        {
          expr: `sum by (model, direction) (rate(keel_ai_tokens_total{model=~"$model"}${R}))`,
          legend: '{{model}} {{direction}}',
        },
      ],
    },
    {
      title: 'Tokens in the selected range, by model and direction',
      wide: true,
      queries: [
        {
          expr: 'sum by (model, direction) (increase(keel_ai_tokens_total{model=~"$model"}[$__range]))',
          legend: '{{model}} {{direction}}',
        },
      ],
    },
  ],
};

/** The dashboards by file name (without `.json`). */
export function keelDashboards(): Record<string, ReturnType<typeof dashboard>> {
  return {
    edge: dashboard(edge),
    runners: dashboard(runners),
    workspaces: dashboard(workspaces),
    ai: dashboard(ai),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const paths = Object.entries(keelDashboards()).map(([name, d]) => {
    const path = join(DASHBOARDS_DIR, `${name}.json`);
    writeFileSync(path, `${JSON.stringify(d, null, 2)}\n`);
    return path;
  });
  // The repository's formatter has the last word on layout; the test compares parsed JSON.
  execFileSync('npx', ['--no-install', 'biome', 'format', '--write', ...paths], { stdio: 'inherit' });
}
