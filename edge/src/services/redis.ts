import { Redis, type RedisOptions } from 'ioredis';

const ERROR_LOG_INTERVAL_MS = 10_000;

export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    // BullMQ needs this on connections it blocks on; callers bound their own waits.
    maxRetriesPerRequest: null,
    connectTimeout: 5_000,
    ...options,
  });
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
