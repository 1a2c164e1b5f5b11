import { EDGE_METRICS, LATENCY_BUCKETS } from '@keel/contract/metrics';
import type { RateLimitScope } from '@keel/contract/plans';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DbOperation, QueryObserver } from './db-metrics.ts';
import type { CacheName, EdgeMetrics, SignInMethod, StreamKind } from './recorder.ts';
import { registryFrom } from './registry.ts';
import type { RequestRecorder } from './request-metrics.ts';
import { CounterSeries, exportCounter, exportHistogram, HistogramSeries } from './series.ts';

/** The edge's metrics, each of the kind the contract gives it. */
export interface EdgeMetricSet {
  requests: Counter;
  requestDuration: Histogram;
  openStreams: Gauge;
  redisDuration: Histogram;
  redisErrors: Counter;
  dbDuration: Histogram;
  dbErrors: Counter;
  dbPool: Gauge;
  signInFailures: Counter;
  refusals: Counter;
  cacheRequests: Counter;
  heartbeatAge: Gauge;
  auditVerified: Gauge;
  auditLastCheck: Gauge;
  certificateExpiry: Gauge;
}

interface RequestSeries {
  count: CounterSeries;
  duration: HistogramSeries;
}

interface CallSeries {
  duration: HistogramSeries;
  errors: CounterSeries;
}

/** Methods as numbers, for the request series' key (request-metrics.ts names any other `OTHER`). */
const METHOD_CODES: Record<string, number> = {
  GET: 1,
  HEAD: 2,
  POST: 3,
  PUT: 4,
  PATCH: 5,
  DELETE: 6,
  OPTIONS: 7,
  OTHER: 8,
};

const DB_OPERATIONS: DbOperation[] = ['select', 'insert', 'update', 'delete', 'other'];

/** Counts kept as plain numbers and handed to their counter when Prometheus scrapes. */
const CACHES: CacheName[] = ['key_reads', 'workspace_list', 'cached_entry'];

/** A collector run at each scrape, before the registry is read. */
export type ScrapeCollector = (metrics: EdgeMetricSet) => Promise<void> | void;

/**
 * The edge's metrics in a prom-client registry (Node, KEEL_METRICS_PORT set). Every label
 * child is bound on first use and kept in a map by its key, so a request costs a map lookup, a
 * counter increment and a histogram observation; figures that change slowly or are cheaper to
 * read than to track (pool use, runner heartbeats, the key reads' own counts) are read at
 * scrape time by collectors.
 */
export class PromEdgeMetrics implements EdgeMetrics, RequestRecorder, QueryObserver {
  readonly enabled = true;
  readonly registry: Registry;
  readonly metrics: EdgeMetricSet;
  /** By route, then method and status; the duration series is shared by the statuses of a route and method. */
  private readonly requests = new Map<string, Map<number, RequestSeries>>();
  private readonly durations = new Map<string, HistogramSeries>();
  private readonly commands = new Map<string, CallSeries>();
  private readonly queries: Record<DbOperation, CallSeries>;
  private readonly signIn = new Map<SignInMethod, { inc(): void }>();
  private readonly refusals = new Map<RateLimitScope, { inc(): void }>();
  private readonly cacheCounts = new Map<CacheName, { hit: number; miss: number }>(
    CACHES.map((c) => [c, { hit: 0, miss: 0 }]),
  );
  private readonly collectors: ScrapeCollector[] = [];
  /** Pool in use, for the pool gauge: queries (or transactions) holding a connection or waiting for one. */
  private dbInFlight = 0;
  private dbPoolMax = 1;

  constructor() {
    const made = registryFrom(EDGE_METRICS);
    this.registry = made.registry;
    const metrics: EdgeMetricSet = {
      requests: made.counter('keel_http_requests_total'),
      requestDuration: made.histogram('keel_http_request_duration_seconds'),
      openStreams: made.gauge('keel_http_open_streams'),
      redisDuration: made.histogram('keel_redis_command_duration_seconds'),
      redisErrors: made.counter('keel_redis_errors_total'),
      dbDuration: made.histogram('keel_db_query_duration_seconds'),
      dbErrors: made.counter('keel_db_errors_total'),
      dbPool: made.gauge('keel_db_pool_connections'),
      signInFailures: made.counter('keel_sign_in_failures_total'),
      refusals: made.counter('keel_rate_limit_refusals_total'),
      cacheRequests: made.counter('keel_cache_requests_total'),
      heartbeatAge: made.gauge('keel_runner_heartbeat_age_seconds'),
      auditVerified: made.gauge('keel_audit_chain_verified'),
      auditLastCheck: made.gauge('keel_audit_chain_last_check_timestamp_seconds'),
      certificateExpiry: made.gauge('keel_server_certificate_expiry_timestamp_seconds'),
    };
    this.metrics = metrics;
    const op = (operation: DbOperation): CallSeries => ({
      duration: new HistogramSeries({ operation }, LATENCY_BUCKETS),
      errors: new CounterSeries({ operation }),
    });
    this.queries = Object.fromEntries(DB_OPERATIONS.map((o) => [o, op(o)])) as Record<
      DbOperation,
      CallSeries
    >;
    const queries = () => Object.values(this.queries);
    collectWith(metrics.requests, () =>
      exportCounter(
        metrics.requests,
        [...this.requests.values()].flatMap((byRoute) => [...byRoute.values()].map((r) => r.count)),
      ),
    );
    collectWith(metrics.requestDuration, () =>
      exportHistogram(metrics.requestDuration, LATENCY_BUCKETS, this.durations.values()),
    );
    collectWith(metrics.redisDuration, () =>
      exportHistogram(
        metrics.redisDuration,
        LATENCY_BUCKETS,
        [...this.commands.values()].map((c) => c.duration),
      ),
    );
    collectWith(metrics.redisErrors, () =>
      exportCounter(
        metrics.redisErrors,
        [...this.commands.values()].map((c) => c.errors),
      ),
    );
    collectWith(metrics.dbDuration, () =>
      exportHistogram(
        metrics.dbDuration,
        LATENCY_BUCKETS,
        queries().map((q) => q.duration),
      ),
    );
    collectWith(metrics.dbErrors, () =>
      exportCounter(
        metrics.dbErrors,
        queries().map((q) => q.errors),
      ),
    );
    for (const kind of ['sse', 'websocket'] as const) metrics.openStreams.labels(kind).set(0);
    collectWith(metrics.cacheRequests, () => {
      const counter = metrics.cacheRequests;
      counter.reset();
      for (const [cache, n] of this.cacheCounts) {
        counter.labels(cache, 'hit').inc(n.hit);
        counter.labels(cache, 'miss').inc(n.miss);
      }
    });
    collectWith(metrics.dbPool, () => {
      const gauge = metrics.dbPool;
      const inUse = Math.min(this.dbInFlight, this.dbPoolMax);
      gauge.labels('in_use').set(inUse);
      gauge.labels('idle').set(this.dbPoolMax - inUse);
      gauge.labels('waiting').set(Math.max(0, this.dbInFlight - this.dbPoolMax));
    });
  }

  /** Runs `collector` at every scrape, before the text is made. */
  onScrape(collector: ScrapeCollector): void {
    this.collectors.push(collector);
  }

  /** The exposition text, after the scrape-time collectors ran (a failing one is logged, not fatal). */
  async scrape(): Promise<string> {
    for (const collect of this.collectors) {
      try {
        await collect(this.metrics);
      } catch (err) {
        console.error(JSON.stringify({ level: 'warn', msg: 'metrics collector failed', error: String(err) }));
      }
    }
    return this.registry.metrics();
  }

  request(route: string, method: string, status: number, seconds: number): void {
    // No key is built: the route template is the router's own string (its hash is kept), and
    // method and status make a small number.
    let byRoute = this.requests.get(route);
    if (!byRoute) {
      byRoute = new Map();
      this.requests.set(route, byRoute);
    }
    const code = (METHOD_CODES[method] ?? 0) * 1000 + status;
    let series = byRoute.get(code);
    if (!series) series = this.requestSeries(byRoute, code, route, method, status);
    series.count.value++;
    series.duration.observe(seconds);
  }

  private requestSeries(
    byRoute: Map<number, RequestSeries>,
    code: number,
    route: string,
    method: string,
    status: number,
  ): RequestSeries {
    const routeMethod = `${route} ${method}`;
    let duration = this.durations.get(routeMethod);
    if (!duration) {
      duration = new HistogramSeries({ route, method }, LATENCY_BUCKETS);
      this.durations.set(routeMethod, duration);
    }
    const series = { count: new CounterSeries({ route, method, status: String(status) }), duration };
    byRoute.set(code, series);
    return series;
  }

  redisCommand(name: string, seconds: number, failed: boolean): void {
    let series = this.commands.get(name);
    if (!series) {
      series = {
        duration: new HistogramSeries({ command: name }, LATENCY_BUCKETS),
        errors: new CounterSeries({ command: name }),
      };
      this.commands.set(name, series);
    }
    series.duration.observe(seconds);
    if (failed) series.errors.value++;
  }

  queryStarted(holdsConnection: boolean): void {
    if (holdsConnection) this.dbInFlight++;
  }

  queryDone(operation: DbOperation, seconds: number, failed: boolean, heldConnection: boolean): void {
    if (heldConnection) this.dbInFlight--;
    const series = this.queries[operation];
    series.duration.observe(seconds);
    if (failed) series.errors.value++;
  }

  poolSize(max: number): void {
    this.dbPoolMax = max;
  }

  signInFailed(method: SignInMethod): void {
    let child = this.signIn.get(method);
    if (!child) {
      child = this.metrics.signInFailures.labels(method);
      this.signIn.set(method, child);
    }
    child.inc();
  }

  refused(scope: RateLimitScope): void {
    let child = this.refusals.get(scope);
    if (!child) {
      child = this.metrics.refusals.labels(scope);
      this.refusals.set(scope, child);
    }
    child.inc();
  }

  cacheRead(cache: CacheName, hit: boolean): void {
    const n = this.cacheCounts.get(cache)!;
    if (hit) n.hit++;
    else n.miss++;
  }

  /** Counts of a cache kept elsewhere (the key reads count their own), read at scrape time. */
  cacheCountsFrom(cache: CacheName, read: () => { hit: number; miss: number }): void {
    this.onScrape(() => {
      const n = read();
      this.cacheCounts.set(cache, { hit: n.hit, miss: n.miss });
    });
  }

  streamOpened(kind: StreamKind): void {
    this.metrics.openStreams.labels(kind).inc();
  }

  streamClosed(kind: StreamKind): void {
    this.metrics.openStreams.labels(kind).dec();
  }
}

/** prom-client reads a metric's `collect` when the registry is scraped; the contract's helper makes them without one. */
function collectWith(metric: Counter | Gauge | Histogram, collect: () => void): void {
  (metric as unknown as { collect: () => void }).collect = collect;
}
