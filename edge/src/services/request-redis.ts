import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** One Redis command as sent on the wire: its name, then its arguments. */
export type RedisCommand = readonly [name: string, ...args: Array<string | number>];

/**
 * The Redis a request's short commands go through: session and token reads, caches, request
 * counts. Narrow on purpose, so it has two ways to Redis: the edge's TCP connection (ioredis),
 * or HTTP (Upstash's REST API, `upstash-redis.ts`), for a Worker that must not open a TCP
 * connection to Redis on each request. Blocking reads (XREAD BLOCK), pub/sub and the job queue
 * keep to TCP (`services.redis()`, `services.readers`, `services.queue`).
 */
export interface RequestRedis {
  /** How it reaches Redis (the metrics and the tests tell them apart). */
  readonly via: 'tcp' | 'http';
  /** One command; a Redis error is thrown. */
  send<T = unknown>(command: RedisCommand): Promise<T>;
  /** Several in one round trip, not atomically: each answer, or its Error, in its place. */
  pipeline(commands: readonly RedisCommand[]): Promise<unknown[]>;
  /** Several at once (MULTI/EXEC): their answers; a Redis error in any is thrown. */
  transaction(commands: readonly RedisCommand[]): Promise<unknown[]>;
}

/** The commands over the edge's TCP connection, opened on first use. */
export function tcpCommands(redis: () => Redis): RequestRedis {
  return {
    via: 'tcp',
    send: <T>(command: RedisCommand) => redis().call(command[0], ...command.slice(1)) as Promise<T>,
    async pipeline(commands) {
      if (commands.length === 0) return [];
      const answers = await redis().pipeline(asCalls(commands)).exec();
      return (answers ?? []).map(([err, value]) => err ?? value);
    },
    async transaction(commands) {
      if (commands.length === 0) return [];
      const answers = await redis().multi(asCalls(commands)).exec();
      if (!answers) throw new Error('Redis aborted the transaction');
      return answers.map(([err, value]) => {
        if (err) throw err;
        return value;
      });
    },
  };
}

/** ioredis batches name methods: `call` sends any command as written. */
const asCalls = (commands: readonly RedisCommand[]) => commands.map((c) => ['call', ...c]);

/** A Lua script run by its digest (EVALSHA), as a command for a pipeline. */
export interface LuaScript {
  source: string;
  sha: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

export function evalshaCommand(
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): RedisCommand {
  return ['EVALSHA', script.sha, keys.length, ...keys, ...args];
}

export const isNoScript = (err: unknown) => err instanceof Error && err.message.includes('NOSCRIPT');

/** Runs the script by its digest, and sends it whole once when Redis lost it (a restart, SCRIPT FLUSH). */
export async function runScript<T>(
  redis: RequestRedis,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<T> {
  try {
    return await redis.send<T>(evalshaCommand(script, keys, args));
  } catch (err) {
    if (!isNoScript(err)) throw err;
    return redis.send<T>(['EVAL', script.source, keys.length, ...keys, ...args]);
  }
}
