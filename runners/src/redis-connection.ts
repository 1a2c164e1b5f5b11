import { redisArgs, redisUrlWithLogin } from '@keel/contract/redis-url';
import { Redis, type RedisOptions } from 'ioredis';
import type { RunnerConfig } from './env.ts';
import type { SavedCredential } from './registration.ts';

/**
 * A connection to the edge's Redis as this runner: with its own Redis user when the edge
 * gave it one at registration (then it reaches only its own keys and channels).
 */
export function connectRunnerRedis(config: RunnerConfig, credential: SavedCredential): Redis {
  // One server, or the primary Redis Sentinel names, asked again on every reconnect (a failover).
  const [first, options] = redisArgs(loginUrl(config.REDIS_URL, credential.redis), {
    // BullMQ needs this on the connections it blocks on; the runner bounds its own waits.
    maxRetriesPerRequest: null,
  });
  const redis = typeof first === 'string' ? new Redis(first, options as RedisOptions) : new Redis(first);
  // Reconnects are ioredis' business and a line per attempt would flood the log; a refused
  // user is worth saying, once a minute: nothing works until an operator acts.
  let said = 0;
  redis.on('error', (err: Error) => {
    if (!/WRONGPASS|NOAUTH|NOPERM/.test(err.message) || Date.now() - said < 60_000) return;
    said = Date.now();
    console.error(
      JSON.stringify({
        level: 'error',
        msg: 'Redis refused this runner: its user was revoked, or Redis lost its users (keep them in an aclfile)',
        error: err.message,
      }),
    );
  });
  return redis;
}

/** REDIS_URL with the runner's own user in it, when it has one (see contract/redis-url). */
export const loginUrl = redisUrlWithLogin;
