import type { Redis } from 'ioredis';

export interface RedisCommandRecorder {
  redisCommand(name: string, seconds: number, failed: boolean): void;
}

interface SentCommand {
  name: string;
  promise: Promise<unknown>;
}

/**
 * Times every command `redis` sends, by command name (a bounded set: the commands the edge's
 * code uses), and counts those that fail. ioredis hands every command, those of MULTI and
 * pipelines included, to `sendCommand`: wrapping it on this one client is the one place.
 * Connections made apart from it (blocking stream reads, the key reads' tracking pair) are
 * not timed: a blocking read's time is how long it waited for output, not Redis's latency.
 */
export function instrumentRedis(redis: Redis, recorder: RedisCommandRecorder): Redis {
  const send = redis.sendCommand.bind(redis) as (command: SentCommand, ...rest: unknown[]) => unknown;
  (redis as unknown as { sendCommand: typeof send }).sendCommand = (command, ...rest) => {
    const started = performance.now();
    const name = command.name;
    command.promise.then(
      () => recorder.redisCommand(name, (performance.now() - started) / 1000, false),
      () => recorder.redisCommand(name, (performance.now() - started) / 1000, true),
    );
    return send(command, ...rest);
  };
  return redis;
}
