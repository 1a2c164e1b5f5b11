import { LATENCY_BUCKETS } from '@keel/contract/metrics';
import { edgeStatsMinuteKey } from '../redis-keys.ts';
import type { RedisCommand, RequestRedis } from '../services/request-redis.ts';

/**
 * Request figures every edge adds to, whatever it runs on: per UTC minute, the requests answered,
 * those answered with a 5xx, the time to answer as a histogram (LATENCY_BUCKETS) and its sum.
 * They live in one Redis hash per minute (edgeStatsMinuteKey), so the Health page and the
 * `keel-edge-stats` exporter see all edges together; on workerd, where no process lives to be
 * scraped, they are the only request figures there are.
 *
 * The request's path only counts in memory (no Redis call); the counts go to Redis in one
 * pipeline of HINCRBY per flush: every few seconds on Node, at most once per flush interval
 * through a request's waitUntil on workerd.
 */

/** Fields of a minute's hash. Bucket fields are per bucket, not cumulative: they add across edges. */
export const REQUESTS_FIELD = 'requests';
export const ERRORS_FIELD = 'errors';
/** The sum of the times to answer, in microseconds (HINCRBY takes integers only). */
export const SUM_FIELD = 'sum_us';
/** `b<i>`: answers in (LATENCY_BUCKETS[i-1], LATENCY_BUCKETS[i]]; `b<length>`: slower than the last bound. */
export const bucketField = (i: number) => `b${i}`;
export const BUCKET_COUNT = LATENCY_BUCKETS.length + 1;

/** How long a minute's hash is kept: the Health page reads up to 3 hours back. */
export const EDGE_STATS_TTL_SECONDS = 4 * 3600;

/** What one edge counted in one minute and has not flushed yet. */
interface MinuteCounts {
  minute: number;
  requests: number;
  errors: number;
  sumUs: number;
  buckets: number[];
}

const newMinute = (minute: number): MinuteCounts => ({
  minute,
  requests: 0,
  errors: 0,
  sumUs: 0,
  buckets: new Array<number>(BUCKET_COUNT).fill(0),
});

/** The bucket of an answer that took `seconds`: the first bound at or above it. */
export function bucketOf(seconds: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
  return i;
}

export class RequestStats {
  private current: MinuteCounts | undefined;
  /** Minutes past, kept until the next flush (a flush that failed puts its counts back). */
  private done: MinuteCounts[] = [];
  private lastFlushAt = 0;
  private flushing: Promise<void> | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** The hot path: a few additions in memory. */
  record(status: number, seconds: number): void {
    const minute = Math.floor(this.now() / 60_000);
    let m = this.current;
    if (m === undefined || m.minute !== minute) {
      if (m !== undefined) this.done.push(m);
      m = this.current = newMinute(minute);
    }
    m.requests++;
    if (status >= 500) m.errors++;
    m.sumUs += Math.round(seconds * 1e6);
    m.buckets[bucketOf(seconds)]!++;
  }

  /** Whether anything waits to be flushed. */
  get pending(): boolean {
    return this.current !== undefined || this.done.length > 0;
  }

  /** Whether a flush is due: something to send, none under way, and `intervalMs` since the last. */
  due(intervalMs: number): boolean {
    return this.pending && this.flushing === undefined && this.now() - this.lastFlushAt >= intervalMs;
  }

  /**
   * Sends what was counted in one pipeline: HINCRBY per non-zero field and EXPIRE per minute.
   * Counts of a failed flush are kept for the next one (a Redis outage delays, never doubles:
   * a pipeline that failed part-way may have added some of them, which is accepted).
   */
  flush(redis: RequestRedis, on: { config: { redisPrefix: string } }): Promise<void> {
    if (this.flushing) return this.flushing;
    const taken = this.take();
    this.lastFlushAt = this.now();
    if (taken.length === 0) return Promise.resolve();
    const commands: RedisCommand[] = [];
    for (const m of taken) {
      const key = edgeStatsMinuteKey(on, m.minute);
      commands.push(['HINCRBY', key, REQUESTS_FIELD, m.requests]);
      if (m.errors > 0) commands.push(['HINCRBY', key, ERRORS_FIELD, m.errors]);
      commands.push(['HINCRBY', key, SUM_FIELD, m.sumUs]);
      m.buckets.forEach((n, i) => {
        if (n > 0) commands.push(['HINCRBY', key, bucketField(i), n]);
      });
      commands.push(['EXPIRE', key, EDGE_STATS_TTL_SECONDS]);
    }
    this.flushing = redis
      .pipeline(commands)
      .then((results) => {
        const failed = results.find((r) => r instanceof Error);
        if (failed) throw failed;
      })
      .catch((err: unknown) => {
        this.putBack(taken);
        console.error(
          JSON.stringify({ level: 'warn', msg: 'request figures not flushed', error: String(err) }),
        );
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private take(): MinuteCounts[] {
    const taken = this.done;
    if (this.current) taken.push(this.current);
    this.done = [];
    this.current = undefined;
    return taken;
  }

  private putBack(taken: MinuteCounts[]): void {
    // Bounded: an edge cut off from Redis for hours keeps its last few hours of minutes only.
    this.done = [...taken, ...this.done].slice(-(EDGE_STATS_TTL_SECONDS / 60));
  }
}

/** Counts every request's status and time into `stats` (a request observer of the outermost middleware). */
export function requestCounter(stats: RequestStats) {
  return function countRequest(_c: unknown, status: number, seconds: number): void {
    stats.record(status, seconds);
  };
}

/** Node: flushes every `intervalMs` and once more when stopped. */
export function flushEvery(
  stats: RequestStats,
  redis: RequestRedis,
  on: { config: { redisPrefix: string } },
  intervalMs: number,
) {
  const timer = setInterval(() => {
    if (stats.pending) void stats.flush(redis, on);
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      // A flush under way answers first; what came after it goes in one more.
      await stats.flush(redis, on);
      if (stats.pending) await stats.flush(redis, on);
    },
  };
}
