import { type MetricSpec, RUNNER_METRICS, type RunnerMetricName } from '@keel/contract/metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/*
 * The contract types every entry as a MetricSpec, so each name's kind is written here once
 * more for the compiler; `buildRunnerRegistry` checks these lists against the contract and
 * refuses to start on any difference.
 */
const COUNTERS = [
  'keel_runner_jobs_total',
  'keel_runner_calls_total',
  'keel_workspace_cpu_seconds_total',
  'keel_workspace_network_receive_bytes_total',
  'keel_workspace_network_transmit_bytes_total',
  'keel_runner_stream_bytes_total',
  'keel_ai_calls_total',
  'keel_ai_tokens_total',
  'keel_runner_connection_tests_total',
] as const satisfies readonly RunnerMetricName[];
const GAUGES = [
  'keel_runner_queue_depth',
  'keel_runner_workspaces',
  'keel_workspace_memory_bytes',
  'keel_workspace_memory_limit_bytes',
  'keel_workspace_disk_bytes',
  'keel_runner_terminal_sessions',
  'keel_runner_disk_used_ratio',
  'keel_runner_memory_used_ratio',
] as const satisfies readonly RunnerMetricName[];
const HISTOGRAMS = [
  'keel_runner_job_duration_seconds',
  'keel_runner_call_duration_seconds',
  'keel_runner_queue_wait_seconds',
  'keel_runner_stream_lag_seconds',
  'keel_ai_time_to_first_token_seconds',
] as const satisfies readonly RunnerMetricName[];

/** Every runner metric of the contract, by name, typed by its kind. */
export type RunnerMetrics = { [N in (typeof COUNTERS)[number]]: Counter<string> } & {
  [N in (typeof GAUGES)[number]]: Gauge<string>;
} & { [N in (typeof HISTOGRAMS)[number]]: Histogram<string> };

/** One prom-client metric from its contract entry, registered in `registry`. */
export function metricFromSpec(name: string, spec: MetricSpec, registry: Registry) {
  const common = { name, help: spec.help, labelNames: [...spec.labels], registers: [registry] };
  if (spec.kind === 'counter') return new Counter(common);
  if (spec.kind === 'gauge') return new Gauge(common);
  return new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] });
}

/**
 * A registry holding exactly the contract's runner metrics: names, help, labels and buckets
 * come from `RUNNER_METRICS`, so the dashboards and alert rules checked against it match.
 */
export function buildRunnerRegistry(): { registry: Registry; metrics: RunnerMetrics } {
  const kinds = new Map<string, string>([
    ...COUNTERS.map((n) => [n, 'counter'] as const),
    ...GAUGES.map((n) => [n, 'gauge'] as const),
    ...HISTOGRAMS.map((n) => [n, 'histogram'] as const),
  ]);
  const specs = Object.entries(RUNNER_METRICS) as [string, MetricSpec][];
  const wrong = specs.filter(([name, spec]) => kinds.get(name) !== spec.kind).map(([name]) => name);
  if (wrong.length > 0 || kinds.size !== specs.length) {
    throw new Error(
      `runner metrics out of step with the contract: ${wrong.join(', ') || 'a name is missing'}`,
    );
  }
  const registry = new Registry();
  const metrics = Object.fromEntries(
    specs.map(([name, spec]) => [name, metricFromSpec(name, spec, registry)]),
  ) as unknown as RunnerMetrics;
  return { registry, metrics };
}
