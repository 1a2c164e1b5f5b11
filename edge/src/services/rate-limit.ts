import type { Redis } from 'ioredis';
import { withTimeout } from './with-timeout.ts';

/** Redis must answer within this, or the limiter steps aside rather than hang a request. */
const REDIS_BUDGET_MS = 500;

export interface RateDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

/**
 * Fixed-window counters in Redis (`key` carries the install's prefix), shared by every edge instance. If Redis cannot answer
 * in time the request is let through and the failure logged: an outage of the limiter
 * must not lock everyone out.
 */
export async function hitRateLimit(
  redis: Redis,
  key: string,
  limit: number,
  windowSeconds: number,
): Promise<RateDecision> {
  const redisKey = rateWindowKey(key, windowSeconds);
  try {
    const count = await withTimeout(
      (async () => {
        // The key names its window, so its expiry is set once, by the hit that made it (as the
        // AI warm start's script counts too).
        const multi = redis.multi().incr(redisKey).expire(redisKey, windowSeconds, 'NX');
        const [[, n]] = (await multi.exec()) as [[Error | null, number]];
        return n;
      })(),
      REDIS_BUDGET_MS,
    );
    if (count > limit) {
      const retry = windowSeconds - (Math.floor(Date.now() / 1000) % windowSeconds);
      return { allowed: false, retryAfterSeconds: retry };
    }
  } catch (err) {
    console.error(JSON.stringify({ level: 'warn', msg: 'rate limiter unavailable', error: String(err) }));
  }
  return { allowed: true, retryAfterSeconds: 0 };
}

/** The counter of the current window for `key`. */
export function rateWindowKey(key: string, windowSeconds: number): string {
  return `${key}:${Math.floor(Date.now() / 1000 / windowSeconds)}`;
}
