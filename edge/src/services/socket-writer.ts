import type { Redis } from 'ioredis';
import { closeRedis, connectRedis } from './redis.ts';

/** The connection a WebSocket relay writes on while its socket lives. */
export interface SocketWriter {
  redis: Redis;
  /** The socket ended: a connection of its own closes once `last` (its final writes) settled. */
  release(last?: Promise<unknown>): void;
}

/**
 * The process's shared connection (`services.socketWrites`, Node), where a turn's writes of every
 * socket leave together; else a connection of the socket's own, for exactly its lifetime: in
 * workerd the request's services are closed once the handshake is answered, and the socket
 * outlives them.
 */
export function socketWriter(shared: Redis | undefined, redisUrl: string): SocketWriter {
  // The last writes are best effort either way: a socket that ends while Redis is away says nothing.
  if (shared) return { redis: shared, release: (last) => void last?.catch(() => {}) };
  const own = connectRedis(redisUrl);
  return {
    redis: own,
    release: (last) =>
      void Promise.resolve(last)
        .catch(() => {})
        .finally(() => closeRedis(own)),
  };
}
