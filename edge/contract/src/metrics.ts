/**
 * Every metric a Keel process exports, in the Prometheus format: its name, kind, help and
 * labels. The edge and the runners make their registries from this list, and the alert rules,
 * the Grafana dashboards and the tests check the names they use against it, so a renamed metric
 * fails a test instead of a dashboard going quiet.
 *
 * Conventions (https://prometheus.io/docs/practices/naming/): `keel_` first, then the part of
 * the system, base units (seconds, bytes), `_total` on counters. No label holds a path, an
 * e-mail, a prompt or anything else without a bound: routes are templates
 * (`/api/workspaces/:id`), workspaces are ids of the workspaces a runner holds now, models and
 * runners are what the install configured.
 */

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  kind: MetricKind;
  help: string;
  labels: readonly string[];
  /** Histogram buckets, in the metric's unit. */
  buckets?: readonly number[];
}

/** Request and call latencies: from a cached read (under a millisecond) to a slow start. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;
/** Job durations and waits: from a file read to a workspace start or a restore. */
export const JOB_BUCKETS = [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] as const;

const spec = <K extends MetricKind>(
  kind: K,
  help: string,
  labels: readonly string[] = [],
  buckets?: readonly number[],
): MetricSpec => ({ kind, help, labels, ...(buckets ? { buckets } : {}) });

/** What the edge exports (Node; on workerd see docs/OBSERVABILITY.md). */
export const EDGE_METRICS = {
  keel_http_requests_total: spec('counter', 'HTTP requests answered, by route template, method and status.', [
    'route',
    'method',
    'status',
  ]),
  keel_http_request_duration_seconds: spec(
    'histogram',
    'Time from a request to its answer, by route template and method.',
    ['route', 'method'],
    LATENCY_BUCKETS,
  ),
  keel_http_open_streams: spec('gauge', 'Server-sent event streams and WebSockets open now, by kind.', [
    'kind',
  ]),
  keel_redis_command_duration_seconds: spec(
    'histogram',
    'Redis round trips made by the edge, by command.',
    ['command'],
    LATENCY_BUCKETS,
  ),
  keel_redis_errors_total: spec('counter', 'Redis commands that failed, by command.', ['command']),
  keel_db_query_duration_seconds: spec(
    'histogram',
    'Database queries made by the edge, by operation (select, insert, update, delete, other).',
    ['operation'],
    LATENCY_BUCKETS,
  ),
  keel_db_errors_total: spec('counter', 'Database queries that failed, by operation.', ['operation']),
  keel_db_pool_connections: spec('gauge', 'Database pool connections, by state (in_use, idle, waiting).', [
    'state',
  ]),
  keel_sign_in_failures_total: spec(
    'counter',
    'Sign-ins refused, by method (password, sso, directory, token).',
    ['method'],
  ),
  keel_rate_limit_refusals_total: spec('counter', 'Requests refused by a request or plan limit, by scope.', [
    'scope',
  ]),
  keel_cache_requests_total: spec('counter', 'Reads of the edge caches, by cache and result (hit, miss).', [
    'cache',
    'result',
  ]),
  keel_runner_heartbeat_age_seconds: spec(
    'gauge',
    'Seconds since each registered runner last reported, as the edge sees it, by runner and server.',
    ['runner', 'server'],
  ),
  keel_audit_chain_verified: spec(
    'gauge',
    'Whether the last scheduled audit chain check passed (1) or found a break (0), by organization.',
    ['organization'],
  ),
  keel_audit_chain_last_check_timestamp_seconds: spec(
    'gauge',
    'When the audit chain was last checked, Unix time, by organization.',
    ['organization'],
  ),
  keel_server_certificate_expiry_timestamp_seconds: spec(
    'gauge',
    'When a certificate stored for an infrastructure server stops being valid (its earliest notAfter), Unix time, by organization id, server id and name, server kind (docker-tls, kubernetes) and certificate (ca, client).',
    ['organization', 'server', 'name', 'kind', 'certificate'],
  ),
} as const satisfies Record<string, MetricSpec>;

/** What each runner exports. */
export const RUNNER_METRICS = {
  keel_runner_jobs_total: spec('counter', 'Jobs run, by type and outcome (ok, error, refused, cancelled).', [
    'type',
    'outcome',
  ]),
  keel_runner_job_duration_seconds: spec('histogram', 'Time a job ran, by type.', ['type'], JOB_BUCKETS),
  keel_runner_calls_total: spec('counter', 'Calls answered, by type and outcome.', ['type', 'outcome']),
  keel_runner_call_duration_seconds: spec(
    'histogram',
    'Time a call took to answer, by type.',
    ['type'],
    LATENCY_BUCKETS,
  ),
  keel_runner_queue_depth: spec('gauge', 'Jobs waiting in this runner’s queues, by queue.', ['queue']),
  keel_runner_queue_wait_seconds: spec(
    'histogram',
    'Time a job waited between being queued and starting, by queue.',
    ['queue'],
    JOB_BUCKETS,
  ),
  keel_runner_workspaces: spec('gauge', 'Workspaces on this runner, by state.', ['state']),
  keel_workspace_cpu_seconds_total: spec('counter', 'CPU time used by a workspace, by workspace id.', [
    'workspace',
  ]),
  keel_workspace_memory_bytes: spec('gauge', 'Memory a workspace uses now, by workspace id.', ['workspace']),
  keel_workspace_memory_limit_bytes: spec('gauge', 'Memory a workspace may use, by workspace id.', [
    'workspace',
  ]),
  keel_workspace_disk_bytes: spec('gauge', 'Disk a workspace’s files use, by workspace id.', ['workspace']),
  keel_workspace_network_receive_bytes_total: spec(
    'counter',
    'Bytes a workspace received, by workspace id.',
    ['workspace'],
  ),
  keel_workspace_network_transmit_bytes_total: spec('counter', 'Bytes a workspace sent, by workspace id.', [
    'workspace',
  ]),
  keel_runner_stream_bytes_total: spec('counter', 'Bytes appended to streams, by stream kind.', ['kind']),
  keel_runner_stream_lag_seconds: spec(
    'histogram',
    'Time from a process writing output to its entry in the stream, by stream kind.',
    ['kind'],
    LATENCY_BUCKETS,
  ),
  keel_runner_terminal_sessions: spec('gauge', 'Terminal sessions open now.'),
  keel_ai_calls_total: spec('counter', 'Model calls, by model and outcome (ok, error, cancelled).', [
    'model',
    'outcome',
  ]),
  keel_ai_tokens_total: spec('counter', 'Model tokens, by model and direction (in, out).', [
    'model',
    'direction',
  ]),
  keel_ai_time_to_first_token_seconds: spec(
    'histogram',
    'Time from a model call to its first token, by model.',
    ['model'],
    LATENCY_BUCKETS,
  ),
  keel_runner_connection_tests_total: spec(
    'counter',
    'Connections to infrastructure servers made with their credentials, by server kind (ssh, docker-tls, kubernetes; unknown when the access could not be fetched), check (test: a connection test an admin asked for; resources: the periodic resource collection), outcome (ok, error) and code (the connection test code of a failure, none when ok).',
    ['kind', 'check', 'outcome', 'code'],
  ),
  keel_runner_disk_used_ratio: spec('gauge', 'Share of the runner’s workspace disk in use (0 to 1).'),
  keel_runner_memory_used_ratio: spec('gauge', 'Share of the runner host’s memory in use (0 to 1).'),
} as const satisfies Record<string, MetricSpec>;

/**
 * What `keel-edge-stats` exports (edge/src/metrics/edge-stats-exporter.ts): every edge's requests
 * together, Node and workerd alike, from the per-minute figures the edges keep in Redis. The
 * counters start at zero when the exporter starts (Prometheus reads that as a reset).
 */
export const EDGE_STATS_METRICS = {
  keel_edge_stats_requests_total: spec(
    'counter',
    'HTTP requests answered by every edge together (Node and workerd), from the figures in Redis.',
  ),
  keel_edge_stats_errors_total: spec(
    'counter',
    'HTTP requests every edge together answered with a 5xx status, from the figures in Redis.',
  ),
  keel_edge_stats_request_duration_seconds: spec(
    'histogram',
    'Time from a request to its answer, every edge together, from the figures in Redis.',
    [],
    LATENCY_BUCKETS,
  ),
  keel_edge_stats_last_minute_timestamp_seconds: spec(
    'gauge',
    'Start of the latest minute any edge sent figures for, Unix time (stale: no edge is counting).',
  ),
} as const satisfies Record<string, MetricSpec>;

export type EdgeMetricName = keyof typeof EDGE_METRICS;
export type EdgeStatsMetricName = keyof typeof EDGE_STATS_METRICS;
export type RunnerMetricName = keyof typeof RUNNER_METRICS;

/** Every name, with the suffixes Prometheus adds to a histogram's series. */
export function exportedSeriesNames(): Set<string> {
  const names = new Set<string>();
  for (const [name, s] of Object.entries({ ...EDGE_METRICS, ...EDGE_STATS_METRICS, ...RUNNER_METRICS }) as [
    string,
    MetricSpec,
  ][]) {
    names.add(name);
    if (s.kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}
