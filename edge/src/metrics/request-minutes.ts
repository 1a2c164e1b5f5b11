import { LATENCY_BUCKETS } from '@keel/contract/metrics';
import type { Redis } from 'ioredis';
import { edgeStatsMinuteKey } from '../redis-keys.ts';
import { BUCKET_COUNT, bucketField, ERRORS_FIELD, REQUESTS_FIELD, SUM_FIELD } from './request-stats.ts';

/** One minute of request figures, all edges together, as read back from Redis. */
export interface RequestMinute {
  /** Minutes since the Unix epoch. */
  minute: number;
  requests: number;
  errors: number;
  sumSeconds: number;
  /** Per bucket (not cumulative), LATENCY_BUCKETS then the slower-than-all bucket. */
  buckets: number[];
}

const int = (v: string | undefined) => {
  const n = Number(v ?? 0);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
};

/** The minutes `from`…`to` (inclusive, epoch minutes), oldest first, in one pipeline; a missing one is zeros. */
export async function readRequestMinutes(
  redis: Redis,
  on: { config: { redisPrefix: string } },
  from: number,
  to: number,
): Promise<RequestMinute[]> {
  const minutes: number[] = [];
  for (let m = from; m <= to; m++) minutes.push(m);
  if (minutes.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const m of minutes) pipeline.hgetall(edgeStatsMinuteKey(on, m));
  const results = (await pipeline.exec()) ?? [];
  return minutes.map((minute, i) => {
    const [err, raw] = results[i] ?? [null, {}];
    if (err) throw err;
    const h = (raw ?? {}) as Record<string, string>;
    const buckets: number[] = [];
    for (let b = 0; b < BUCKET_COUNT; b++) buckets.push(int(h[bucketField(b)]));
    return {
      minute,
      requests: int(h[REQUESTS_FIELD]),
      errors: int(h[ERRORS_FIELD]),
      sumSeconds: int(h[SUM_FIELD]) / 1e6,
      buckets,
    };
  });
}

/** Adds minutes together (a window's totals). */
export function sumMinutes(minutes: readonly RequestMinute[]): Omit<RequestMinute, 'minute'> {
  const total = { requests: 0, errors: 0, sumSeconds: 0, buckets: new Array<number>(BUCKET_COUNT).fill(0) };
  for (const m of minutes) {
    total.requests += m.requests;
    total.errors += m.errors;
    total.sumSeconds += m.sumSeconds;
    m.buckets.forEach((n, i) => {
      total.buckets[i]! += n;
    });
  }
  return total;
}

/**
 * The q-quantile in seconds of a histogram (per-bucket counts), estimated as Prometheus's
 * histogram_quantile does: linearly within the bucket it falls in, from 0 for the first; in the
 * slower-than-all bucket, the last bound. null with no observations.
 */
export function quantileSeconds(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (seen + n >= rank && n > 0) {
      if (i >= LATENCY_BUCKETS.length) return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!;
      const upper = LATENCY_BUCKETS[i]!;
      return lower + (upper - lower) * ((rank - seen) / n);
    }
    seen += n;
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]!;
}

/** The current epoch minute. */
export const minuteOf = (ms: number) => Math.floor(ms / 60_000);
