import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** With `operator: true`: a login with every right. */
  operatorUrl?: string;
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
    /**
     * Also a user with every right (`operatorUrl`), as a database operator has: for tests that
     * change the server itself (CONFIG SET), which the edge's own user may not.
     */
    operator?: boolean;
  } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'keel-redis-'));
  const user = prepareRedisUsers(dir);
  const operator = options.operator ? addOperator(user.aclFile) : undefined;
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
    ...(operator ? { operatorUrl: redisUrlWithUser('127.0.0.1', port, operator) } : {}),
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

const OPERATOR = 'keel-test-operator';

/** Appends (once) a user with every right to the ACL file; its password is made here. */
function addOperator(aclFile: string): { username: string; password: string } {
  const password = randomBytes(24).toString('base64url');
  const sha = createHash('sha256').update(password).digest('hex');
  const others = readFileSync(aclFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith(`user ${OPERATOR} `));
  writeFileSync(aclFile, `${[...others, `user ${OPERATOR} on #${sha} ~* &* +@all`].join('\n')}\n`, {
    mode: 0o600,
  });
  return { username: OPERATOR, password };
}
