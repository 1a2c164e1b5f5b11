/*
 * Workspaces changed outside Keel on a real Docker engine: a container someone removed
 * or stopped, and a second runner sharing the engine. The status must tell the truth,
 * and no runner may touch a workspace another runner placed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { containerName } from '../../runners/src/workloads/docker.ts';
import { waitFor } from '../harness/ports.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';
import { dockerCli } from '../runner/docker-helper.ts';

async function running(rig: Rig, name: string): Promise<string> {
  const ws = await rig.admin.request('POST', '/api/workspaces', { name }, { bearer: true });
  assert.equal(ws.status, 201);
  await rig.waitForStatus(rig.admin, ws.body.id, 'running');
  return ws.body.id;
}

async function statusOf(rig: Rig, id: string): Promise<{ status: string; reason: string | null }> {
  return (await rig.admin.request('GET', `/api/workspaces/${id}/status`, undefined, { bearer: true })).body;
}

async function logText(rig: Rig, id: string): Promise<string> {
  const res = await rig.admin.request('GET', `/api/workspaces/${id}/logs`, undefined, { bearer: true });
  return JSON.stringify(res.body);
}

/** The workspace's status once it is no longer running: the runner following the engine. */
const leftRunning = (rig: Rig, id: string) =>
  waitFor(
    'the status to follow the engine',
    async () => {
      const s = await statusOf(rig, id);
      return s.status === 'running' ? undefined : s;
    },
    20_000,
    200,
  );

const startedAt = async (id: string) =>
  (await dockerCli('inspect', '-f', '{{.State.Running}} {{.State.StartedAt}}', containerName(id))).trim();

describe('workspaces changed outside Keel (docker)', () => {
  // One system for the file: each test makes workspaces of its own on it.
  let rig: Rig;
  before(async () => {
    rig = await startRig('docker');
  });
  after(async () => {
    await rig?.close();
  });

  test('a container removed outside Keel makes the workspace failed, with the reason', async () => {
    const id = await running(rig, 'removed');
    await dockerCli('rm', '-f', containerName(id));
    const seen = await leftRunning(rig, id);
    assert.equal(seen.status, 'failed');
    assert.match(seen.reason ?? '', /removed outside Keel/);
    assert.match(await logText(rig, id), /removed outside Keel/);
  });

  test('a container stopped outside Keel makes the workspace stopped; starting it works again', async () => {
    const id = await running(rig, 'killed');
    await dockerCli('kill', containerName(id));
    const seen = await leftRunning(rig, id);
    assert.equal(seen.status, 'stopped');
    assert.match(seen.reason ?? '', /stopped outside Keel \(exit code 137\)/);
    const start = await rig.admin.request('POST', `/api/workspaces/${id}/start`, undefined, {
      bearer: true,
    });
    assert.equal(start.status, 202);
    await rig.waitForStatus(rig.admin, id, 'running');
    // The next beats leave a workspace that runs as it is.
    await new Promise((r) => setTimeout(r, 4_000));
    assert.equal((await statusOf(rig, id)).status, 'running');
  });

  test("a runner never stops, counts or reports another runner's workspaces on the same engine", async () => {
    // `sweeper` stops idle workspaces every 250 ms; `owner` (the file's system) placed the one
    // that must survive, beside those of the tests before.
    const sweeper = await startRig('docker', { runnerEnv: { KEEL_IDLE_STOP_SECONDS: '1' } });
    const owner = rig;
    try {
      const id = await running(owner, 'not-yours');
      const startedBefore = await startedAt(id);
      assert.match(startedBefore, /^true /);
      await new Promise((r) => setTimeout(r, 4_000));
      assert.equal(await startedAt(id), startedBefore, 'the container ran the whole time');
      assert.equal((await statusOf(owner, id)).status, 'running');
      const runners = await sweeper.admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
      assert.equal(runners.body.runners[0]?.stats?.workspacesRunning, 0);
      assert.deepEqual(await sweeper.runner.ownWorkspaces(), []);
    } finally {
      await sweeper.close();
    }
  });
});

describe('heartbeat', () => {
  test('asks the engine once per beat, not once per workspace', async () => {
    const rig = await startRig('process');
    try {
      for (const name of ['a', 'b', 'c']) await running(rig, name);
      const calls = { states: 0, status: 0, list: 0 };
      const driver = rig.driver as unknown as Record<
        keyof typeof calls,
        (...a: unknown[]) => Promise<unknown>
      >;
      for (const method of Object.keys(calls) as Array<keyof typeof calls>) {
        const real = driver[method]!.bind(rig.driver);
        driver[method] = (...args) => {
          calls[method]++;
          return real(...args);
        };
      }
      // HEARTBEAT_INTERVAL_MS is 3 s: two beats and a bit.
      await new Promise((r) => setTimeout(r, 6_500));
      assert.ok(calls.states >= 2 && calls.states <= 3, `states() called ${calls.states} times`);
      assert.equal(calls.status, 0);
      assert.equal(calls.list, 0);
    } finally {
      await rig.close();
    }
  });
});
