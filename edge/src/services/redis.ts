import { redisArgs } from '@keel/contract/redis-url';
import { Redis, type RedisOptions } from 'ioredis';

const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * How long a command waits while Redis is out of reach before it fails: requests then answer
 * 503 (store_unavailable) within a few seconds instead of hanging until Redis is back. Each
 * reconnect attempt fails at once on a refused port, and takes at most `connectTimeout`.
 */
export const REDIS_DOWN_RETRIES = 2;

/**
 * How long a command waits for its answer from a connected Redis. A server that stopped
 * answering (paused, or behind a lost network whose packets vanish) keeps its connection open,
 * so without this a request would be held for as long as it lasts. Connections that block
 * (stream reads) turn it off.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;

/**
 * A connection to the edge's Redis: one server, or the primary that Redis Sentinel names
 * (REDIS_URL, see contract/redis-url.ts), asked again on every reconnect so a failover is
 * followed without a restart.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  const [first, rest] = redisArgs(url, {
    // Commands queue while (re)connecting, but only for a couple of attempts: a request is
    // refused soon rather than held for the whole outage. Connections that block (BullMQ's,
    // stream readers') set their own.
    maxRetriesPerRequest: REDIS_DOWN_RETRIES,
    connectTimeout: 3_000,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    ...options,
  });
  const redis = typeof first === 'string' ? new Redis(first, rest ?? {}) : new Redis(first);
  // Without a listener ioredis prints every failed reconnect; one line per interval is enough.
  let lastLogged = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLogged < ERROR_LOG_INTERVAL_MS) return;
    lastLogged = now;
    console.error(JSON.stringify({ level: 'warn', msg: 'redis connection error', error: err.message }));
  });
  return redis;
}

/** QUIT waits for a reply that never comes from a dead server; disconnect then. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await redis.quit().catch(() => redis.disconnect());
  } else {
    redis.disconnect();
  }
}
