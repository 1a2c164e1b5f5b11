import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
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

/** One fixed-window counter among several counted together (see `hitRateLimits`). */
export interface WindowCounter {
  /** The key without its window (carries the install's prefix). */
  key: string;
  limit: number;
}

/**
 * Counts one request against every counter of the same window in one round trip, and on a
 * refusal counts it in `refusalsKey`'s hash under the first exceeded counter's `field`.
 * KEYS: the counters' window keys, then the refusals hash. ARGV: window seconds, the hash's
 * lifetime, then each counter's limit and field.
 */
const HIT_COUNTERS = `
local n = #KEYS - 1
local out = {}
local refused = 0
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
  out[i] = count
  if refused == 0 and count > tonumber(ARGV[1 + 2 * i]) then refused = i end
end
if refused > 0 then
  redis.call('HINCRBY', KEYS[n + 1], ARGV[2 + 2 * refused], 1)
  redis.call('EXPIRE', KEYS[n + 1], ARGV[2])
end
out[n + 1] = refused
return out`;

const HIT_COUNTERS_SHA = createHash('sha1').update(HIT_COUNTERS).digest('hex');

interface CountersRedis {
  keelHitCounters(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<number[]>;
}
const withScript = new WeakSet<Redis>();
function scripted(redis: Redis): Redis & CountersRedis {
  // EVALSHA, and the script itself once after Redis lost it (restart, SCRIPT FLUSH).
  if (!withScript.has(redis)) {
    redis.defineCommand('keelHitCounters', { lua: HIT_COUNTERS });
    withScript.add(redis);
  }
  return redis as Redis & CountersRedis;
}

export interface CountersDecision {
  /** Each counter's count in this window, this request included; empty when Redis did not answer. */
  counts: number[];
  /** The index of the first counter over its limit, or -1. */
  refused: number;
  /** Seconds left in the window. */
  resetSeconds: number;
}

/**
 * Several fixed-window counters of one window, counted in one round trip (a Lua script, so
 * the refusal is counted in the same trip). Fails open like `hitRateLimit`.
 */
export async function hitRateLimits(
  redis: Redis,
  counters: readonly (WindowCounter & { field: string })[],
  windowSeconds: number,
  refusals: { key: string; keepSeconds: number },
): Promise<CountersDecision> {
  const hit = countersHit(counters, windowSeconds, refusals);
  return hit.decide(await sendCountersHit(redis, hit));
}

/**
 * `hitRateLimits` in parts, for a caller that sends the script in a pipeline beside its own
 * reads (one round trip for both: the workspace list). `queue` adds the script to the pipeline;
 * `decide` takes its answer, or the error, and fails open like `hitRateLimit`.
 */
export function countersHit(
  counters: readonly (WindowCounter & { field: string })[],
  windowSeconds: number,
  refusals: { key: string; keepSeconds: number },
): {
  args: [number, ...Array<string | number>];
  queue(pipeline: ChainableCommander): void;
  decide(answer: unknown): CountersDecision;
} {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const window = Math.floor(nowSeconds / windowSeconds);
  const resetSeconds = windowSeconds - (nowSeconds % windowSeconds);
  const args: [number, ...Array<string | number>] = [counters.length + 1];
  for (const c of counters) args.push(`${c.key}:${window}`);
  args.push(refusals.key, windowSeconds, refusals.keepSeconds);
  for (const c of counters) args.push(c.limit, c.field);
  return {
    args,
    queue(pipeline) {
      // EVALSHA by hand: a defined command in a pipeline sends the whole script every time
      // (ioredis remembers a loaded script per socket, and a pipeline writes through one of its
      // own). A Redis that lost the script answers NOSCRIPT, and `decide`'s caller sends it alone.
      pipeline.evalsha(HIT_COUNTERS_SHA, ...args);
    },
    decide(answer) {
      if (!Array.isArray(answer)) {
        console.error(
          JSON.stringify({ level: 'warn', msg: 'rate limiter unavailable', error: String(answer) }),
        );
        return { counts: [], refused: -1, resetSeconds };
      }
      const out = answer as number[];
      return {
        counts: out.slice(0, counters.length),
        refused: (out[counters.length] ?? 0) - 1,
        resetSeconds,
      };
    },
  };
}

/** Sends a `countersHit` on its own; its answer, or the error (for `decide`). */
export async function sendCountersHit(
  redis: Redis,
  hit: { args: [number, ...Array<string | number>] },
): Promise<unknown> {
  try {
    return await withTimeout(scripted(redis).keelHitCounters(...hit.args), REDIS_BUDGET_MS);
  } catch (err) {
    return err;
  }
}
