import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { lspKeys } from '@keel/contract/lsp';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Redis } from 'ioredis';
import { LanguageServers } from '../../runners/src/lsp/language-servers.ts';
import type { ExecHandle, WorkloadDriver } from '../../runners/src/workloads/types.ts';
import { type RedisServer, startRedisServer } from '../harness/redis-server.ts';

/**
 * A connection that arrives while its language server's idle time runs out must get a live server,
 * not the one being stopped (CI once saw "stopped after 1 min unused" on a connection just opened).
 * The server here is a stand-in process (`node` reading stdin): the race is the runner's, not the
 * server's. The Redis is real; its claim is held back so the idle timer fires during it.
 */
const base = 'keel:test:lsp-race:';
let server: RedisServer;
let redis: Redis;

before(async () => {
  server = await startRedisServer({ operator: true });
  redis = new Redis(server.operatorUrl!, { lazyConnect: false });
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

function standInDriver(started: ExecHandle[]): WorkloadDriver {
  return {
    kind: 'process',
    status: async () => 'running',
    exec() {
      const child = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: 'pipe' });
      const done = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) =>
        child.on('exit', (exitCode, signal) => resolve({ exitCode, signal })),
      );
      const handle = {
        id: `stand-in-${started.length}`,
        stdout: child.stdout ?? new PassThrough(),
        stderr: child.stderr ?? new PassThrough(),
        stdin: child.stdin ?? undefined,
        done,
        async kill() {
          // A sandbox takes a while to tear down: the server is stopping, not yet stopped.
          await new Promise((r) => setTimeout(r, 400));
          child.kill('SIGKILL');
          await done;
        },
      } as unknown as ExecHandle;
      started.push(handle);
      return handle;
    },
  } as unknown as WorkloadDriver;
}

function job(connectionId: string) {
  return {
    v: CONTRACT_VERSION,
    type: 'lsp.open' as const,
    workspaceId: 'ws_race',
    connectionId,
    language: 'typescript' as const,
  };
}

async function ends(connectionId: string): Promise<string[]> {
  const entries = await redis.xrange(lspKeys({ base }, connectionId).output, '-', '+');
  return entries.filter(([, f]) => f[0] === 't' && f[1] === 'end').map(([, f]) => f[3] ?? '');
}

test('a connection claimed while the idle stop fires gets a new server, not the stopping one', async () => {
  const started: ExecHandle[] = [];
  const idleMs = 60;
  const servers = new LanguageServers({
    redis,
    keys: { base },
    driverFor: async () => standInDriver(started),
    idleMs,
    onActivity() {},
  });
  try {
    const first = 'lsp_aaaaaaaaaaaaaaaaaaaa';
    assert.deepEqual(await servers.open(job(first)), { attached: true });
    await redis.xadd(lspKeys({ base }, first).input, '*', 't', 'close');
    // The first connection leaves: the server's idle timer starts.
    const deadline = Date.now() + 5_000;
    while (servers.running()[0]?.connections !== 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(servers.running()[0]?.connections, 0);

    // The second's claim takes longer than the idle time left: the timer fires in between.
    const realSet = redis.set.bind(redis);
    (redis as unknown as { set: unknown }).set = async (...args: unknown[]) => {
      await new Promise((r) => setTimeout(r, idleMs * 3));
      return (realSet as (...a: unknown[]) => Promise<unknown>)(...args);
    };
    const second = 'lsp_bbbbbbbbbbbbbbbbbbbb';
    let opened: Awaited<ReturnType<LanguageServers['open']>>;
    try {
      opened = await servers.open(job(second));
    } finally {
      (redis as unknown as { set: unknown }).set = realSet;
    }
    assert.deepEqual(opened, { attached: true });
    await new Promise((r) => setTimeout(r, 700));

    assert.deepEqual(await ends(second), [], 'the new connection was not ended');
    assert.equal(started.length, 2, 'a second server process started');
    const running = servers.running();
    assert.equal(running.length, 1, JSON.stringify(running));
    assert.equal(running[0]!.connections, 1);
    assert.notEqual(running[0]!.state, 'stopped');
  } finally {
    await servers.stop();
  }
});
