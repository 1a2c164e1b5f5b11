import type { RequestLeases } from './request-leases.ts';
import {
  evalshaCommand,
  luaScript,
  type RedisCommand,
  type RequestRedis,
  runScript,
} from './request-redis.ts';
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
  redis: RequestRedis,
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
        const [n] = await redis.transaction([
          ['INCR', redisKey],
          ['EXPIRE', redisKey, windowSeconds, 'NX'],
        ]);
        return n as number;
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

/** One fixed-window counter among several counted together (see `countersHit`). */
export interface WindowCounter {
  /** The key without its window (carries the install's prefix). */
  key: string;
  limit: number;
}

/**
 * Counts one request against every counter of the same window in one round trip, and on a
 * refusal counts it in `refusalsKey`'s hash under the first exceeded counter's `field`. When
 * asked, and the request is let through, it also counts a lease for the edge (see
 * request-leases.ts): for every counter that asks one, or for none, and only while each stays
 * below half its limit with it. KEYS: the counters' window keys, then the refusals hash. ARGV:
 * window seconds, the hash's lifetime, then each counter's limit, field and lease asked (0 for
 * none). Answers each counter's count, then the refused counter's number (0 for none), then 1
 * when the leases were granted.
 */
const HIT_COUNTERS = luaScript(`
local n = #KEYS - 1
local out = {}
local refused = 0
local asked = 0
local grant = 1
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
  out[i] = count
  local limit = tonumber(ARGV[3 * i])
  local lease = tonumber(ARGV[3 * i + 2])
  if refused == 0 and count > limit then refused = i end
  if lease > 0 then
    asked = 1
    if count + lease > limit / 2 then grant = 0 end
  end
end
if refused > 0 or asked == 0 then grant = 0 end
if grant == 1 then
  for i = 1, n do
    local lease = tonumber(ARGV[3 * i + 2])
    if lease > 0 then redis.call('INCRBY', KEYS[i], lease) end
  end
end
if refused > 0 then
  redis.call('HINCRBY', KEYS[n + 1], ARGV[3 * refused + 1], 1)
  redis.call('EXPIRE', KEYS[n + 1], ARGV[2])
end
out[n + 1] = refused
out[n + 2] = grant
return out`);

export interface CountersDecision {
  /** Each counter's count in this window, this request included; empty when Redis did not answer. */
  counts: number[];
  /** The index of the first counter over its limit, or -1. */
  refused: number;
  /** Seconds left in the window. */
  resetSeconds: number;
}

/**
 * Several fixed-window counters of one window, counted together: here, from this edge's leases,
 * while each has one (`local`; see request-leases.ts), otherwise in one round trip (a Lua script, so
 * a refusal is counted in the same trip), which a caller may send in a pipeline beside its own
 * reads. `command` is the script for a pipeline; `decide` takes its answer, or the error, and
 * fails open like `hitRateLimit`.
 */
export function countersHit(
  counters: readonly (WindowCounter & { field: string })[],
  windowSeconds: number,
  /** Where a refusal is counted: asked for only when the count goes to Redis. */
  refusals: () => { key: string; keepSeconds: number },
  /** This edge's leases of counts (a long-lived edge: see request-leases.ts); none in workerd. */
  leases?: RequestLeases,
): {
  /** The decision, when the request was counted in memory: nothing is to be sent. */
  local: CountersDecision | undefined;
  keys: string[];
  argv: Array<string | number>;
  /** The script by its digest, for a pipeline beside the caller's own reads. */
  command: RedisCommand;
  decide(answer: unknown): CountersDecision;
} {
  const { window, resetSeconds } = windowNow(windowSeconds);
  const windowKeys = counterWindowKeys(counters, window);
  const here = leases?.take(windowKeys);
  if (here) {
    // Counted here: nothing is sent, so nothing more is made (this is most requests' path).
    const local = { counts: here, refused: -1, resetSeconds };
    return { local, keys: [], argv: [], command: NOTHING_SENT, decide: () => local };
  }
  const local = undefined;
  const asked = !leases
    ? []
    : leases.wanted(
        windowKeys,
        counters.map((c) => c.limit),
      );
  const keys: string[] = [];
  const argv: Array<string | number> = [];
  if (!local) {
    const { key, keepSeconds } = refusals();
    keys.push(...windowKeys, key);
    argv.push(windowSeconds, keepSeconds);
    counters.forEach((c, i) => {
      argv.push(c.limit, c.field, asked[i] ?? 0);
    });
  }
  return {
    local,
    keys,
    argv,
    // EVALSHA alone: in a pipeline, a Redis that lost the script answers NOSCRIPT, and
    // `decide`'s caller then sends it on its own (sendCountersHit loads it again).
    command: evalshaCommand(HIT_COUNTERS, keys, argv),
    decide(answer) {
      if (local) return local;
      if (!Array.isArray(answer)) {
        console.error(
          JSON.stringify({ level: 'warn', msg: 'rate limiter unavailable', error: String(answer) }),
        );
        return { counts: [], refused: -1, resetSeconds };
      }
      const out = answer as number[];
      const counts = out.slice(0, counters.length);
      const granted = out[counters.length + 1] === 1;
      leases?.granted(windowKeys, counts, granted ? asked : [], windowSeconds);
      return { counts, refused: (out[counters.length] ?? 0) - 1, resetSeconds };
    },
  };
}

/** The fixed window of `windowSeconds` now, and the seconds left in it. */
export function windowNow(windowSeconds: number): { window: number; resetSeconds: number } {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return {
    window: Math.floor(nowSeconds / windowSeconds),
    resetSeconds: windowSeconds - (nowSeconds % windowSeconds),
  };
}

/** The counters' keys in `window`: what Redis counts, and what leases are kept by. */
export function counterWindowKeys(counters: readonly WindowCounter[], window: number): string[] {
  return counters.map((c) => `${c.key}:${window}`);
}

/** The `command` of a request counted from leases: never sent (its `local` says so). */
const NOTHING_SENT: RedisCommand = evalshaCommand(HIT_COUNTERS, [], []);

/** Sends a `countersHit` on its own; its answer, or the error (for `decide`). */
export async function sendCountersHit(
  redis: RequestRedis,
  hit: { keys: string[]; argv: Array<string | number> },
): Promise<unknown> {
  try {
    return await withTimeout(runScript(redis, HIT_COUNTERS, hit.keys, hit.argv), REDIS_BUDGET_MS);
  } catch (err) {
    return err;
  }
}
