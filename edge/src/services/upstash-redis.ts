import { Redis as UpstashRedis } from '@upstash/redis/cloudflare';
import type { RedisCommand, RequestRedis } from './request-redis.ts';

/** Upstash's client, for its HTTP requester: auth, retries, base64 answers decoded. */
class UpstashClient extends UpstashRedis {
  get requester() {
    return this.client;
  }
}

type Answer = { result?: unknown; error?: string };

/**
 * The request path's Redis over Upstash's REST API (`@upstash/redis`): each round trip is one
 * HTTPS request, which a Worker makes without opening a TCP connection to Redis. Commands go
 * as they are written (the client's typed commands would each need a mapping of their own);
 * answers come base64-encoded (`Upstash-Encoding`), so any value survives JSON, and are not
 * parsed further: a value reads as the same string it does through ioredis.
 */
export function upstashCommands(url: string, token: string): RequestRedis {
  const requester = new UpstashClient({
    url,
    token,
    responseEncoding: 'base64',
    automaticDeserialization: false,
    enableTelemetry: false,
    // Each request has its own client in a Worker: there is no earlier write of its own to wait for.
    readYourWrites: false,
    // A request waits on these (its limits, its session): one short retry, not five with backoff.
    retry: { retries: 1, backoff: () => 50 },
  }).requester;
  const batch = async (path: string, commands: readonly RedisCommand[]): Promise<Answer[]> =>
    commands.length === 0
      ? []
      : ((await requester.request({ path: [path], body: commands })) as unknown as Answer[]);
  return {
    via: 'http',
    async send<T>(command: RedisCommand) {
      // A Redis error comes back as an HTTP error, which the requester throws (UpstashError).
      const { result, error } = await requester.request<T>({ body: command });
      if (error) throw new Error(error);
      return result as T;
    },
    async pipeline(commands) {
      return (await batch('pipeline', commands)).map(({ result, error }) =>
        error ? new Error(error) : result,
      );
    },
    async transaction(commands) {
      return (await batch('multi-exec', commands)).map(({ result, error }) => {
        if (error) throw new Error(error);
        return result;
      });
    },
  };
}
