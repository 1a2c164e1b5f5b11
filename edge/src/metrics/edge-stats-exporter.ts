/**
 * `keel-edge-stats`: a small Node process that serves every edge's request figures in the
 * Prometheus format. Edges in workerd have no process to scrape; they (and Node edges) add their
 * requests to per-minute hashes in Redis (request-stats.ts), and this reads them back.
 *
 * Counters must only grow, while the hashes expire: so the exporter keeps its own totals, adding
 * at each scrape what each recent minute gained since it last looked. A minute an edge flushes
 * later than WINDOW_MINUTES after it ended is missed. Started by `scripts/edge-stats`.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EDGE_STATS_METRICS, LATENCY_BUCKETS } from '@keel/contract/metrics';
import { REDIS_URL_MESSAGE, REDIS_URL_PATTERN } from '@keel/contract/redis-url';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Metric, Registry } from 'prom-client';
import { z } from 'zod';
import { closeRedis, connectRedis } from '../services/redis.ts';
import { type MetricsListener, serveMetrics } from './metrics-server.ts';
import { minuteOf, type RequestMinute, readRequestMinutes } from './request-minutes.ts';
import { BUCKET_COUNT } from './request-stats.ts';

/** How far back each scrape looks for minutes that gained requests. */
export const WINDOW_MINUTES = 15;

const ExporterEnv = z.object({
  REDIS_URL: z.string().regex(REDIS_URL_PATTERN, REDIS_URL_MESSAGE),
  KEEL_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .optional()
    .default('keel:'),
  KEEL_EDGE_STATS_PORT: z.coerce.number().int().min(0).max(65535).optional().default(9466),
  KEEL_EDGE_STATS_HOST: z.string().trim().min(1).max(255).optional().default('127.0.0.1'),
  KEEL_METRICS_TOKEN: z
    .string()
    .min(16, 'at least 16 characters (openssl rand -hex 24)')
    .max(512)
    .optional()
    .or(z.literal('').transform(() => undefined)),
});

type Totals = Omit<RequestMinute, 'minute'>;
const zeros = (): Totals => ({
  requests: 0,
  errors: 0,
  sumSeconds: 0,
  buckets: new Array<number>(BUCKET_COUNT).fill(0),
});

const names = Object.keys(EDGE_STATS_METRICS) as (keyof typeof EDGE_STATS_METRICS)[];
const [REQUESTS, ERRORS, DURATION, LAST_MINUTE] = names as [
  'keel_edge_stats_requests_total',
  'keel_edge_stats_errors_total',
  'keel_edge_stats_request_duration_seconds',
  'keel_edge_stats_last_minute_timestamp_seconds',
];

/**
 * A histogram made of bucket counts read elsewhere: prom-client's Histogram only takes one
 * observation at a time, so this gives the registry the series itself (cumulative `le` buckets,
 * `_sum`, `_count`), in prom-client's own metric shape.
 */
function bucketHistogram(totals: () => Totals): Metric {
  const spec = EDGE_STATS_METRICS[DURATION];
  return {
    name: DURATION,
    help: spec.help,
    type: 'histogram',
    get: async () => {
      const t = totals();
      let cumulative = 0;
      const values = t.buckets.map((n, i) => {
        cumulative += n;
        const le = i < LATENCY_BUCKETS.length ? String(LATENCY_BUCKETS[i]) : '+Inf';
        return { labels: { le }, value: cumulative, metricName: `${DURATION}_bucket` };
      });
      values.push(
        { labels: {} as { le: string }, value: t.sumSeconds, metricName: `${DURATION}_sum` },
        { labels: {} as { le: string }, value: t.requests, metricName: `${DURATION}_count` },
      );
      return { name: DURATION, help: spec.help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset: () => {},
  } as unknown as Metric;
}

/** The exporter's registry and its totals, fed from Redis at each scrape. */
export class EdgeStatsCollector {
  readonly registry = new Registry();
  private readonly totals = zeros();
  /** What each recent minute held at the last scrape. */
  private readonly seen = new Map<number, Totals>();
  private readonly requests: Counter;
  private readonly errors: Counter;
  private readonly lastMinute: Gauge;
  private running: Promise<string> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    const registers = [this.registry];
    this.requests = new Counter({ name: REQUESTS, help: EDGE_STATS_METRICS[REQUESTS].help, registers });
    this.errors = new Counter({ name: ERRORS, help: EDGE_STATS_METRICS[ERRORS].help, registers });
    this.registry.registerMetric(bucketHistogram(() => this.totals));
    this.lastMinute = new Gauge({ name: LAST_MINUTE, help: EDGE_STATS_METRICS[LAST_MINUTE].help, registers });
  }

  /** One scrape: take in what the recent minutes gained, then the text. Concurrent scrapes share one read. */
  scrape(): Promise<string> {
    this.running ??= this.collect()
      .then(() => this.registry.metrics())
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async collect(): Promise<void> {
    const to = minuteOf(this.now());
    const from = to - WINDOW_MINUTES + 1;
    const minutes = await readRequestMinutes(this.redis, { config: { redisPrefix: this.prefix } }, from, to);
    for (const m of minutes) {
      const before = this.seen.get(m.minute) ?? zeros();
      const gain = (a: number, b: number) => Math.max(0, a - b);
      const requests = gain(m.requests, before.requests);
      const errors = gain(m.errors, before.errors);
      if (requests > 0) this.requests.inc(requests);
      if (errors > 0) this.errors.inc(errors);
      this.totals.requests += requests;
      this.totals.errors += errors;
      this.totals.sumSeconds += Math.max(0, m.sumSeconds - before.sumSeconds);
      m.buckets.forEach((n, i) => {
        this.totals.buckets[i]! += gain(n, before.buckets[i]!);
      });
      this.seen.set(m.minute, m);
      if (m.requests > 0) this.lastMinute.set(Math.max(m.minute * 60, 0));
    }
    for (const minute of this.seen.keys()) if (minute < from) this.seen.delete(minute);
  }
}

export interface EdgeStatsExporter {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts the exporter from its environment (see ExporterEnv and docs/CONFIGURATION.md). */
export async function startEdgeStatsExporter(
  env: Record<string, string | undefined> = process.env,
): Promise<EdgeStatsExporter> {
  const parsed = ExporterEnv.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid keel-edge-stats configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const redis = connectRedis(e.REDIS_URL, { maxRetriesPerRequest: 1 });
  const collector = new EdgeStatsCollector(redis, e.KEEL_REDIS_PREFIX);
  let listener: MetricsListener;
  try {
    listener = await serveMetrics({
      host: e.KEEL_EDGE_STATS_HOST,
      port: e.KEEL_EDGE_STATS_PORT,
      token: e.KEEL_METRICS_TOKEN,
      scrape: () => collector.scrape(),
      contentType: collector.registry.contentType,
    });
  } catch (err) {
    await closeRedis(redis);
    throw err;
  }
  const host = e.KEEL_EDGE_STATS_HOST.includes(':') ? `[${e.KEEL_EDGE_STATS_HOST}]` : e.KEEL_EDGE_STATS_HOST;
  return {
    url: `http://${host}:${listener.port}/metrics`,
    port: listener.port,
    async stop() {
      await listener.close();
      await closeRedis(redis);
    },
  };
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  startEdgeStatsExporter().then(
    (exporter) => {
      console.log(JSON.stringify({ level: 'info', msg: 'keel edge stats served', url: exporter.url }));
      const shutdown = () => {
        exporter.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
