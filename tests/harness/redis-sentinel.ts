import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ACL_FILE } from '../../scripts/lib/redis-users.ts';
import { freePort, waitFor } from './ports.ts';
import { type RedisServer, redisServerArgs, startRedisServer } from './redis-server.ts';

const NAME = 'keel';

export interface SentinelRedis {
  /** `redis+sentinel://` with the edge's user, naming the three sentinels. */
  url: string;
  /** The same, with the operator's login (CONFIG GET, BGREWRITEAOF: what a backup needs). */
  operatorUrl: string;
  /** The primary's port now, as the sentinels name it. */
  primaryPort(): Promise<number>;
  /** Waits until the replica holds everything the primary has acknowledged. */
  replicated(): Promise<void>;
  /** kill -9 of the primary; resolves once the sentinels name the replica as the new one. */
  failover(): Promise<{ newPort: number; ms: number }>;
  stop(): Promise<void>;
}

/**
 * A primary and a replica (append-only, the users of scripts/lib/redis-users.ts on both) and
 * three Redis Sentinels (Debian's redis-sentinel) watching them, all on loopback ports. The
 * replica and the sentinels log in to the data servers as the operator user, which may
 * replicate; the sentinels themselves ask for no login.
 */
export async function startSentinelRedis(): Promise<SentinelRedis> {
  const root = mkdtempSync(join(tmpdir(), 'keel-sentinel-'));
  const primary: RedisServer = await startRedisServer({
    appendOnly: true,
    operator: true,
    dir: join(root, 'primary'),
  });
  const operator = new URL(primary.operatorUrl!);
  const opUser = decodeURIComponent(operator.username);
  const opPass = decodeURIComponent(operator.password);
  const children: ChildProcess[] = [];
  const start = (args: string[], bin = 'redis-server') => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
    return child;
  };

  // The replica has the same users as the primary: ACL changes are not replicated.
  const replicaDir = join(root, 'replica');
  mkdirSync(replicaDir);
  copyFileSync(join(root, 'primary', ACL_FILE), join(replicaDir, ACL_FILE));
  const replicaPort = await freePort();
  start([
    ...redisServerArgs({ port: replicaPort, dir: replicaDir, aclFile: join(replicaDir, ACL_FILE) }),
    ...['--appendonly', 'yes', '--replicaof', '127.0.0.1', String(primary.port)],
    ...['--masteruser', opUser, '--masterauth', opPass],
  ]);

  const sentinelPorts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const dir = join(root, `sentinel${i}`);
    mkdirSync(dir);
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${NAME} 127.0.0.1 ${primary.port} 2`,
        `sentinel auth-user ${NAME} ${opUser}`,
        `sentinel auth-pass ${NAME} ${opPass}`,
        // Short, so a test's failover takes seconds: production keeps the defaults (30 s, 3 min).
        `sentinel down-after-milliseconds ${NAME} 1000`,
        `sentinel failover-timeout ${NAME} 10000`,
        '',
      ].join('\n'),
    );
    start([conf], 'redis-sentinel');
    sentinelPorts.push(port);
  }

  const sentinel = new Redis({ port: sentinelPorts[0]!, host: '127.0.0.1', lazyConnect: true });
  sentinel.on('error', () => {});
  const op = new Redis(primary.operatorUrl!, { lazyConnect: true, maxRetriesPerRequest: 1 });
  op.on('error', () => {});
  const primaryPort = async () => {
    const [, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', NAME)) as [string, string];
    return Number(port);
  };
  const stopAll = async () => {
    sentinel.disconnect();
    op.disconnect();
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await exited;
      }),
    );
    // After a failover it is gone already (killed: no exit code, a signal).
    if (primary.process.signalCode === null) await primary.stop();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // Ready once the replica is in sync and every sentinel knows both servers and each other.
    await waitFor(
      'sentinels to watch the primary and its replica',
      async () => {
        for (const port of sentinelPorts) {
          const s = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
          s.on('error', () => {});
          try {
            await s.connect();
            const info = await s.info('sentinel');
            if (
              !new RegExp(
                `name=${NAME},status=ok,address=127.0.0.1:${primary.port},slaves=1,sentinels=3`,
              ).test(info)
            ) {
              return undefined;
            }
          } finally {
            s.disconnect();
          }
        }
        return true;
      },
      30_000,
      200,
    );
  } catch (err) {
    await stopAll();
    throw err;
  }

  const users = new URL(primary.url);
  const login = `${users.username}:${users.password}`;
  const sentinelsAt = (userinfo: string) =>
    `redis+sentinel://${userinfo}@${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${NAME}`;
  return {
    url: sentinelsAt(login),
    operatorUrl: sentinelsAt(`${operator.username}:${operator.password}`),
    primaryPort,
    async replicated() {
      // WAIT: until one replica has acknowledged every write before it.
      const acked = (await op.call('WAIT', '1', '5000')) as number;
      if (acked < 1) throw new Error('the replica did not acknowledge the primary’s writes');
    },
    async failover() {
      const began = Date.now();
      const exited = new Promise((r) => primary.process.once('exit', r));
      primary.process.kill('SIGKILL');
      await exited;
      op.disconnect();
      const newPort = await waitFor(
        'the sentinels to promote the replica',
        async () => ((await primaryPort()) === replicaPort ? replicaPort : undefined),
        30_000,
        100,
      );
      return { newPort, ms: Date.now() - began };
    },
    stop: stopAll,
  };
}
