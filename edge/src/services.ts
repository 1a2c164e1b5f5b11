import type { Redis } from 'ioredis';
import { AuditHeadSeal } from './audit/head-seal.ts';
import { SecretBox } from './auth/secret-box.ts';
import { type KeyCache, SigningKeyStore } from './auth/signing-keys.ts';
import type { EdgeConfig } from './env.ts';
import { CacheSeal } from './services/cache-seal.ts';
import type { Clock } from './services/clock.ts';
import type { Database } from './services/database.ts';
import { JobProducer } from './services/queue.ts';
import { closeRedis, connectRedis } from './services/redis.ts';
import { ReaderPool } from './workspaces/output-reader.ts';

/** Everything a handler may touch, read from the Hono context; never imported at module level. */
export interface Services {
  config: EdgeConfig;
  db: Database;
  /** Connects on first use, so requests that never touch Redis open no connection. */
  redis(): Redis;
  queue: JobProducer;
  /** Connections for streams' blocking reads (XREAD BLOCK holds one per open stream). */
  readers: ReaderPool;
  clock: Clock;
  keys: SigningKeyStore;
  box: SecretBox;
  /** Seals audit chain heads, so a deleted last row is detected (see audit-log.ts). */
  auditSeal: AuditHeadSeal;
  /** Seals what the edge caches in Redis and trusts later (see cache-seal.ts). */
  cacheSeal: CacheSeal;
}

export interface ServicesHandle {
  services: Services;
  close(): Promise<void>;
}

export function buildServices(input: {
  config: EdgeConfig;
  db: Database;
  closeDb: () => Promise<void>;
  clock: Clock;
  keyCache: KeyCache;
  redis?: () => Redis;
}): ServicesHandle {
  let redis: Redis | undefined;
  const getRedis =
    input.redis ??
    (() => {
      redis ??= connectRedis(input.config.redisUrl);
      return redis;
    });
  const box = new SecretBox(input.config.secretKeys);
  const auditSeal = new AuditHeadSeal(input.config.secretKeys);
  const cacheSeal = new CacheSeal(input.config.secretKeys);
  const queue = new JobProducer(getRedis, input.config.redisPrefix);
  const readers = new ReaderPool(getRedis);
  const keys = new SigningKeyStore(input.db, box, input.clock, input.keyCache, {
    issuer: input.config.issuer,
    accessTokenTtlSeconds: input.config.accessTokenTtlSeconds,
    rotateSeconds: input.config.signingKeyRotateSeconds,
  });
  return {
    services: {
      config: input.config,
      db: input.db,
      redis: getRedis,
      queue,
      readers,
      clock: input.clock,
      keys,
      box,
      auditSeal,
      cacheSeal,
    },
    async close() {
      await queue.close();
      readers.close();
      if (redis) await closeRedis(redis);
      await input.closeDb();
    },
  };
}
