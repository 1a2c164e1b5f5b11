import type { Redis } from 'ioredis';
import { AuditHeadSeal } from './audit/head-seal.ts';
import { SecretBox } from './auth/secret-box.ts';
import { type KeyCache, SigningKeyStore } from './auth/signing-keys.ts';
import type { EdgeConfig } from './env.ts';
import { type EdgeMetrics, noMetrics } from './metrics/recorder.ts';
import { instrumentRedis, type RedisCommandRecorder } from './metrics/redis-metrics.ts';
import { CacheSeal } from './services/cache-seal.ts';
import type { Clock } from './services/clock.ts';
import type { Database } from './services/database.ts';
import { JobProducer } from './services/queue.ts';
import { closeRedis, connectRedis } from './services/redis.ts';
import { RequestLeases } from './services/request-leases.ts';
import { type RequestRedis, tcpCommands } from './services/request-redis.ts';
import { type KeyReads, TrackedReads, UntrackedReads } from './services/tracked-reads.ts';
import { upstashCommands } from './services/upstash-redis.ts';
import { ReaderPool } from './workspaces/output-reader.ts';

/** Everything a handler may touch, read from the Hono context; never imported at module level. */
export interface Services {
  config: EdgeConfig;
  db: Database;
  /** Connects on first use, so requests that never touch Redis open no connection. */
  redis(): Redis;
  /**
   * The request path's short commands (sessions, caches, request counts): through `redis()`,
   * or over Upstash's REST API when UPSTASH_REDIS_REST_URL is set (a Worker then opens no TCP
   * connection to Redis for them). Blocking reads, pub/sub and the job queue stay on `redis()`.
   */
  commands: RequestRedis;
  /** Reads of small keys that nearly every request makes, kept in memory while Redis says they stand. */
  reads: KeyReads;
  /** Request counts taken ahead from Redis, for requests far from every limit (none in workerd). */
  leases: RequestLeases | undefined;
  queue: JobProducer;
  /** Connections for streams' blocking reads (XREAD BLOCK holds one per open stream). */
  readers: ReaderPool;
  /**
   * One connection for what open sockets write into Redis (terminal keystrokes and resizes),
   * each turn's commands sent together: hundreds of typing terminals then cost Redis and the
   * edge one write per turn, not one per keystroke. Undefined where services last one request
   * (workerd): each socket opens its own connection there.
   */
  socketWrites: (() => Redis) | undefined;
  clock: Clock;
  keys: SigningKeyStore;
  box: SecretBox;
  /** Seals audit chain heads, so a deleted last row is detected (see audit-log.ts). */
  auditSeal: AuditHeadSeal;
  /** Seals what the edge caches in Redis and trusts later (see cache-seal.ts). */
  cacheSeal: CacheSeal;
  /** What the code reports to the metrics endpoint; calls to it do nothing when metrics are off. */
  metrics: EdgeMetrics;
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
  /**
   * Services that last one request (workerd): nothing is kept in memory across requests, so
   * every read and every count goes to Redis.
   */
  perRequest?: boolean;
  /** Metrics on (Node, KEEL_METRICS_PORT): the recorder, and what times this process's Redis commands. */
  metrics?: EdgeMetrics;
  redisCommands?: RedisCommandRecorder;
}): ServicesHandle {
  let redis: Redis | undefined;
  const { redisCommands } = input;
  const getRedis =
    input.redis ??
    (() => {
      if (!redis) {
        redis = connectRedis(input.config.redisUrl);
        if (redisCommands) instrumentRedis(redis, redisCommands);
      }
      return redis;
    });
  const commands = input.config.upstash
    ? upstashCommands(input.config.upstash.url, input.config.upstash.token)
    : tcpCommands(getRedis);
  const box = new SecretBox(input.config.secretKeys);
  const auditSeal = new AuditHeadSeal(input.config.secretKeys);
  const cacheSeal = new CacheSeal(input.config.secretKeys);
  const queue = new JobProducer(getRedis, input.config.redisPrefix);
  const readers = new ReaderPool(getRedis);
  const longLived = !input.perRequest && !input.redis;
  let socketWrites: Redis | undefined;
  const getSocketWrites = longLived
    ? () => {
        // Auto-pipelining queues a turn's commands and sends them in one write (setImmediate),
        // in the order they were issued: a socket's keystrokes stay in order.
        socketWrites ??= connectRedis(input.config.redisUrl, { enableAutoPipelining: true });
        return socketWrites;
      }
    : undefined;
  const reads: KeyReads = longLived ? new TrackedReads(input.config.redisUrl) : new UntrackedReads(commands);
  const leases = input.perRequest ? undefined : new RequestLeases();
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
      commands,
      reads,
      leases,
      queue,
      readers,
      socketWrites: getSocketWrites,
      clock: input.clock,
      keys,
      box,
      auditSeal,
      cacheSeal,
      metrics: input.metrics ?? noMetrics,
    },
    async close() {
      await reads.close();
      await queue.close();
      readers.close();
      if (socketWrites) await closeRedis(socketWrites);
      if (redis) await closeRedis(redis);
      await input.closeDb();
    },
  };
}
