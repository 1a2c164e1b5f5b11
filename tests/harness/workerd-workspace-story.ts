import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseRunnerEnv } from '../../runners/src/env.ts';
import { register } from '../../runners/src/registration.ts';
import { Runner } from '../../runners/src/runner.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { connectTerminal } from '../terminal/terminal-client.ts';
import { BrowserClient } from './browser-client.ts';
import { waitFor } from './ports.ts';
import { readSse } from './runner-rig.ts';
import type { WorkerdEdge } from './workerd-edge.ts';

/**
 * The workspace story through an edge in workerd, for each way it reaches Redis: a runner
 * registers through it; a workspace starts; a file is written and read back; a command's output
 * streams to its exit over SSE; a shell opens, echoes, reattaches with only what it missed, and
 * exits over its WebSocket. Leaves the runner and its workspaces to `cleanups`.
 */
export async function runWorkerdWorkspaceStory(
  edge: WorkerdEdge,
  redisUrl: string,
  cleanups: Array<() => Promise<void>>,
): Promise<void> {
  const { base, dir } = edge;
  const admin = new BrowserClient((path, init) => fetch(new URL(path, base), init));
  const signup = await admin.request('POST', '/api/auth/signup', {
    email: 'w@example.com',
    password: 'correct horse battery staple',
    name: 'W',
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  const token = await admin.request(
    'POST',
    '/api/admin/runner-tokens',
    { name: 'w', maxUses: 1 },
    { bearer: true },
  );
  const config = parseRunnerEnv({
    KEEL_URL: base,
    KEEL_RUNNER_TOKEN: token.body.token,
    KEEL_RUNNER_NAME: 'workerd-rig',
    KEEL_RUNNER_DATA_DIR: join(dir, 'runner'),
    KEEL_RUNNER_DRIVER: 'process',
    KEEL_IDLE_STOP_SECONDS: '0',
    REDIS_URL: redisUrl,
  });
  const driver = new ProcessDriver({ root: join(dir, 'workspaces') });
  const credential = await register(config, {
    drivers: ['process'],
    capacity: { workspaces: 4, cpus: 2, memoryMb: 2048 },
  });
  const runner = new Runner(config, credential, driver);
  await runner.start();
  cleanups.push(async () => {
    const own = await runner.ownWorkspaces();
    await runner.stop();
    for (const id of own) await driver.remove(id, { keepData: false }).catch(() => {});
  });

  const created = await admin.request('POST', '/api/workspaces', { name: 'edge' }, { bearer: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const ws = created.body.id as string;
  await waitFor('workspace running', async () => {
    const r = await admin.request('GET', `/api/workspaces/${ws}/status`, undefined, { bearer: true });
    return r.body.status === 'running' ? true : undefined;
  });

  const files = `/api/workspaces/${ws}/files?path=${encodeURIComponent('notes/hello.txt')}`;
  const written = await admin.request('PUT', files, { content: 'from workerd ✓\n' }, { bearer: true });
  assert.ok(written.status < 300, JSON.stringify(written.body));
  const read = await admin.request('GET', files, undefined, { bearer: true });
  assert.equal(read.status, 200, JSON.stringify(read.body));
  assert.equal(read.body.content, 'from workerd ✓\n');

  const run = await admin.request(
    'POST',
    `/api/workspaces/${ws}/execute`,
    { command: 'cat notes/hello.txt; echo exec-$((6*7))' },
    { bearer: true },
  );
  assert.equal(run.status, 202, JSON.stringify(run.body));
  const events = await readSse(
    await fetch(new URL(`/api/workspaces/${ws}/executions/${run.body.executionId}/events`, base), {
      headers: { authorization: `Bearer ${admin.accessToken}` },
    }),
  );
  const stdout = events
    .filter((e) => e.event === 'stdout')
    .map((e) => e.data)
    .join('');
  assert.match(stdout, /from workerd ✓[\s\S]*exec-42/);
  assert.equal(JSON.parse(events.at(-1)?.data ?? '{}').exitCode, 0, JSON.stringify(events.at(-1)));

  const term = await connectTerminal(base, admin, ws, { query: { cols: 90, rows: 20 } });
  await term.waitFor('ready', () => term.session);
  term.type('stty size; echo workerd-$((6*7))\r');
  await term.waitForOutput('workerd-42');
  assert.match(term.output(), /20 90/);
  const session = term.session!;
  const seen = term.lastSeq()!;
  term.type('sleep 1; echo while-away-$((6*7))\r');
  await term.close();

  // Another request, so other I/O objects in workerd: the session and its missed output are still there.
  const again = await connectTerminal(base, admin, ws, { query: { session, lastSeq: seen } });
  await again.waitForOutput('while-away-42');
  assert.equal(again.output().split('while-away-42').length - 1, 1);
  // Nothing from before lastSeq is replayed: neither its frames nor its text.
  const replayed = again.frames.filter((f) => f.type === 'output' && f.seq <= seen);
  assert.deepEqual(replayed, [], 'no output frame at or before lastSeq');
  assert.ok(!again.output().includes('workerd-42'), 'the output seen before lastSeq is not sent again');
  again.type('exit 3\r');
  const exit = await again.waitFor('exit', () => again.frames.find((f) => f.type === 'exit'));
  assert.deepEqual(exit, { type: 'exit', exitCode: 3 });
}
