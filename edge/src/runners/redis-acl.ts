import { bullPrefixOf, runnerKeys, runnerQueueName } from '@keel/contract/keys';
import { sentinelReplicas } from '@keel/contract/redis-url';
import { Redis, type RedisOptions } from 'ioredis';
import { randomToken, sha256Hex } from '../auth/bytes.ts';
import { closeRedis, connectRedis } from '../services/redis.ts';
import type { Services } from '../services.ts';

/**
 * Commands a runner's user may not run, on top of Redis' own `@admin` and `@dangerous`
 * categories (CONFIG, KEYS, FLUSHALL, MONITOR, CLIENT LIST/KILL, ACL, DEBUG…): what
 * would list or reach other keys without naming them (SCAN, RANDOMKEY, SORT … BY/GET,
 * PUBSUB introspection), or change what every user shares (databases, functions, the
 * script cache).
 */
const DENIED = [
  '-scan',
  '-randomkey',
  '-sort',
  '-sort_ro',
  '-pubsub',
  '-select',
  '-swapdb',
  '-move',
  '-copy',
  '-function',
  '-fcall',
  '-fcall_ro',
  '-script|flush',
  '-script|kill',
];

/**
 * What ioredis and BullMQ do on their connections: name them, and read INFO (the ready
 * check and BullMQ's version check; it holds server figures, no keys or values).
 */
const HOUSEKEEPING = ['+client|setname', '+client|getname', '+client|id', '+info'];

export function runnerRedisUsername(keyPrefix: string, runnerId: string): string {
  return `${bullPrefixOf(keyPrefix)}-${runnerId}`;
}

/** `*`, `?`, `[` and `\` are glob syntax in ACL patterns. */
const literal = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/**
 * The ACL rules of one runner's user: its own keys and channels (those under
 * `<prefix>runner.<id>:`, BullMQ's included), the data commands, and the password only as
 * its SHA-256. Nothing else in the database is reachable: sessions, workspace rows, other
 * runners' queues and streams.
 */
export function runnerAclRules(keyPrefix: string, runnerId: string, passwordSha256: string): string[] {
  const bases = new Set([
    runnerKeys(keyPrefix, runnerId).base,
    `${bullPrefixOf(keyPrefix)}:${runnerQueueName(runnerId)}:`,
  ]);
  return [
    'reset',
    'on',
    `#${passwordSha256}`,
    ...[...bases].flatMap((b) => [`~${literal(b)}*`, `&${literal(b)}*`]),
    '+@all',
    '-@admin',
    '-@dangerous',
    ...DENIED,
    ...HOUSEKEEPING,
  ];
}

async function withAdmin(services: Services, fn: (redis: Redis) => Promise<void>): Promise<void> {
  const adminUrl = services.config.runnerRedisAcl?.adminUrl;
  if (!adminUrl) await fn(services.redis());
  else {
    const admin = connectRedis(adminUrl);
    try {
      await fn(admin);
    } finally {
      await closeRedis(admin);
    }
  }
  await onEveryReplica(adminUrl ?? services.config.redisUrl, fn);
}

const directly = (options: RedisOptions) =>
  new Redis({
    ...options,
    lazyConnect: false,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });

/**
 * Redis does not replicate ACL changes: with Sentinel, a user made only on the primary is
 * missing once a replica is promoted, and its runner is refused. So each change is made on
 * every replica the sentinels hold as up too (a read-only replica takes ACL commands). One
 * that cannot be reached is logged, not fatal: it is down, and its aclfile (copied from the
 * primary) is the operator's to bring up to date (docs/CONFIGURATION.md).
 */
async function onEveryReplica(url: string, fn: (redis: Redis) => Promise<void>): Promise<void> {
  const replicas = await sentinelReplicas(url, (options) => {
    const sentinel = directly(options);
    sentinel.on('error', () => {});
    return sentinel;
  }).catch((err: Error) => {
    console.error(
      JSON.stringify({ level: 'warn', msg: 'replicas not listed by the sentinels', error: err.message }),
    );
    return [];
  });
  for (const options of replicas) {
    const replica = directly(options);
    replica.on('error', () => {});
    try {
      await fn(replica);
    } catch (err) {
      console.error(
        JSON.stringify({
          level: 'warn',
          msg: 'runner Redis user not changed on a replica',
          replica: `${options.host}:${options.port}`,
          error: (err as Error).message,
        }),
      );
    } finally {
      replica.disconnect();
    }
  }
}

/** Users made at run time are lost when Redis restarts, unless it keeps an ACL file. */
async function persist(redis: Redis): Promise<void> {
  await redis.acl('SAVE').catch(() => {
    // No aclfile configured: the operator keeps users some other way (docs/CONFIGURATION.md).
  });
}

/** Makes the runner's user and returns its credentials; only the edge's answer carries the password. */
export async function createRunnerRedisUser(
  services: Services,
  runnerId: string,
): Promise<{ username: string; password: string }> {
  const username = runnerRedisUsername(services.config.redisPrefix, runnerId);
  const password = randomToken('rrp');
  const rules = runnerAclRules(services.config.redisPrefix, runnerId, sha256Hex(password));
  await withAdmin(services, async (redis) => {
    await redis.acl('SETUSER', username, ...rules);
    await persist(redis);
  });
  return { username, password };
}

/** Removes the runner's user; Redis also closes the connections it had open. */
export async function removeRunnerRedisUser(services: Services, runnerId: string): Promise<void> {
  await withAdmin(services, async (redis) => {
    await redis.acl('DELUSER', runnerRedisUsername(services.config.redisPrefix, runnerId));
    await persist(redis);
  });
}
