import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { Redis } from 'ioredis';
import type { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { startRedisServer } from '../harness/redis-server.ts';
import { type Rig, readSse, startRig } from '../harness/runner-rig.ts';

const CAP = 1024 * 1024;

/** Processes on this host whose command line is exactly `argv` (the sandbox's are visible from here). */
function processesRunning(argv: string[]): number[] {
  const want = `${argv.join('\0')}\0`;
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1') === want) found.push(Number(name));
    } catch {}
  }
  return found;
}

function seqOutput(n: number): string {
  let s = '';
  for (let i = 1; i <= n; i++) s += `${i}\n`;
  return s;
}

async function execute(rig: Rig, c: BrowserClient, id: string, command: string, timeoutMs = 20_000) {
  const run = await c.request(
    'POST',
    `/api/workspaces/${id}/execute`,
    { command, timeoutMs },
    { bearer: true },
  );
  assert.equal(run.status, 202);
  const events = `/api/workspaces/${id}/executions/${run.body.executionId}/events`;
  return {
    executionId: run.body.executionId as string,
    read: async () =>
      readSse(await rig.http(events, { headers: { authorization: `Bearer ${c.accessToken}` } })),
  };
}

describe('bounded command output (process driver, real Redis)', () => {
  let rig: Rig;
  let ws: string;
  let redis: Redis;

  before(async () => {
    rig = await startRig('process', { runnerEnv: { KEEL_EXEC_OUTPUT_MAX_BYTES: String(CAP) } });
    redis = new Redis(rig.config.REDIS_URL);
    const created = await rig.admin.request('POST', '/api/workspaces', { name: 'loud' }, { bearer: true });
    ws = created.body.id;
    await rig.waitForStatus(rig.admin, ws, 'running');
  });
  after(async () => {
    redis.disconnect();
    await rig.close();
  });

  test('output past KEEL_EXEC_OUTPUT_MAX_BYTES is cut there, the exit says so, and the command is stopped', async () => {
    // About 2.7 MB, then a pause the command should never get to finish.
    const sleeper = ['sleep', '41.3'];
    const started = Date.now();
    const run = await execute(rig, rig.admin, ws, `seq 1 400000; ${sleeper.join(' ')}; echo never`);
    const events = await run.read();
    assert.ok(Date.now() - started < 15_000, 'the command ended at the cap, not at its timeout');

    const exit = events.at(-1)!;
    assert.equal(exit.event, 'exit');
    const ended = JSON.parse(exit.data);
    assert.equal(ended.truncatedAtBytes, CAP);
    assert.equal(ended.timedOut, undefined);
    assert.equal(ended.signal, 'SIGKILL');
    assert.match(ended.error, /passed 1048576 bytes/);

    const stdout = events
      .filter((e) => e.event === 'stdout')
      .map((e) => e.data)
      .join('');
    assert.equal(stdout.length, CAP, 'everything up to the cap is kept');
    assert.equal(stdout, seqOutput(400_000).slice(0, CAP), 'the bytes before the cut are intact');
    assert.ok(!stdout.includes('never'));

    // In Redis: output entries of no more than the cap in all, and the exit last.
    const key = runnerKeys(rig.credential.keyPrefix, rig.credential.runnerId).execStream(run.executionId);
    const rows = (await redis.xrangeBuffer(key, '-', '+')) as Array<[Buffer, Buffer[]]>;
    const kinds = rows.map(([, f]) => f[1]!.toString());
    assert.equal(kinds.at(-1), 'exit');
    assert.equal(kinds.filter((k) => k === 'exit').length, 1);
    const stored = rows.slice(0, -1).reduce((n, [, f]) => n + f[3]!.length, 0);
    assert.equal(stored, CAP);

    await waitFor(
      'the stopped command to be gone',
      async () => processesRunning(sleeper).length === 0 || undefined,
      5_000,
    );
  });

  test('output under the cap is untouched, and the next command runs', async () => {
    const run = await execute(rig, rig.admin, ws, 'seq 1 1000; echo done >&2');
    const events = await run.read();
    assert.deepEqual(JSON.parse(events.at(-1)!.data), { exitCode: 0 });
    const stdout = events
      .filter((e) => e.event === 'stdout')
      .map((e) => e.data)
      .join('');
    assert.equal(stdout, seqOutput(1000));
  });
});

describe('a Redis out of memory (maxmemory, noeviction) while a command prints', () => {
  let server: Awaited<ReturnType<typeof startRedisServer>>;
  let rig: Rig;
  let redis: Redis;
  let ws: string;

  before(async () => {
    server = await startRedisServer({ maxmemory: '512mb', operator: true });
    rig = await startRig('process', {
      edgeEnv: { REDIS_URL: server.url },
      runnerEnv: { REDIS_URL: server.url },
    });
    // The operator's login: the edge's own user may not change the server's settings.
    redis = new Redis(server.operatorUrl!);
    const created = await rig.admin.request('POST', '/api/workspaces', { name: 'full' }, { bearer: true });
    ws = created.body.id;
    await rig.waitForStatus(rig.admin, ws, 'running');
  });
  after(async () => {
    redis.disconnect();
    await rig.close();
    await server.stop();
  });

  test('the command stops, the runner carries on, and serves the next command once memory is free', async () => {
    const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    // Room for the job and a little output, far less than the command prints (about 21 MB).
    await redis.config('SET', 'maxmemory', String(used + 3 * 1024 * 1024));
    const sleeper = ['sleep', '43.7'];
    const run = await execute(rig, rig.admin, ws, `seq 1 3000000; ${sleeper.join(' ')}`);
    const keys = runnerKeys(rig.credential.keyPrefix, rig.credential.runnerId);
    await waitFor(
      'the command to be stopped',
      async () => {
        if (processesRunning(sleeper).length > 0) return undefined;
        // Its end handled: no longer listed as running on the runner.
        return (await redis.sismember(`${keys.base}execs`, run.executionId)) === 0 || undefined;
      },
      15_000,
    );
    assert.equal(processesRunning(sleeper).length, 0);
    const stream = keys.execStream(run.executionId);
    const rows = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
    const exit = rows.findLast(([, f]) => f[1] === 'exit');
    // Written when memory allowed; either way it never claims a normal end.
    if (exit) assert.match(JSON.parse(exit[1][3]!).error, /OOM/);
    assert.ok(rows.length > 0, 'the output before Redis filled up is kept');

    // Memory freed: the same runner runs the next command.
    await redis.del(stream);
    const next = await execute(rig, rig.admin, ws, 'echo after-$((6*7))');
    const events = await next.read();
    assert.deepEqual(JSON.parse(events.at(-1)!.data), { exitCode: 0 });
    assert.equal(
      events
        .filter((e) => e.event === 'stdout')
        .map((e) => e.data)
        .join(''),
      'after-42\n',
    );
  });
});
