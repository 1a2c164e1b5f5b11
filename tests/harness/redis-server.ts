import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { prepareRedisUsers, redisUrlWithUser } from '../../scripts/lib/redis-users.ts';
import { freePort, waitFor } from './ports.ts';

export interface RedisServer {
  /** Carries the edge's user and password: the `default` user is off, as in scripts/up. */
  url: string;
  username: string;
  password: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A private redis-server on a free loopback port, its files in a temporary folder, with the
 * users scripts/up gives its own (scripts/lib/redis-users.ts): whatever connects without
 * the password is refused, so every test proves its connections log in. The same `dir`
 * keeps the same password across restarts.
 */
export async function startRedisServer(
  options: {
    appendOnly?: boolean;
    dir?: string;
    port?: number;
    /** e.g. '3mb': writes past it are refused (noeviction), as a full production Redis does. */
    maxmemory?: string;
  } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'keel-redis-'));
  const user = prepareRedisUsers(dir);
  const args = redisServerArgs({ port, dir, aclFile: user.aclFile });
  args.push('--appendonly', options.appendOnly ? 'yes' : 'no');
  if (options.maxmemory) args.push('--maxmemory', options.maxmemory, '--maxmemory-policy', 'noeviction');
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = redisUrlWithUser('127.0.0.1', port, user);
  await waitFor('redis-server', async () => {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      return (await r.ping()) === 'PONG' ? true : undefined;
    } finally {
      r.disconnect();
    }
  });
  return {
    url,
    username: user.username,
    password: user.password,
    port,
    process: child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What scripts/up gives redis-server about who may connect; tests start the same. */
export function redisServerArgs(o: { port: number; dir: string; aclFile: string }): string[] {
  return [
    '--port',
    String(o.port),
    '--bind',
    '127.0.0.1',
    '--dir',
    o.dir,
    '--save',
    '',
    '--aclfile',
    o.aclFile,
  ];
}
