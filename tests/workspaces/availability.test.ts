import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { HEARTBEAT_TTL_SECONDS } from '@keel/contract/runners';
import { type EdgeOnPort as Edge, edgeOnPort } from '../harness/edge-on-port.ts';
import { testInfra } from '../harness/infra.ts';
import { waitFor } from '../harness/ports.ts';
import { type Spawned, spawnService } from '../harness/processes.ts';
import { ensureDockerAndImage } from '../runner/docker-helper.ts';

const root = new URL('../..', import.meta.url).pathname;

const get = (edge: Edge, path: string) => edge.admin.request('GET', path, undefined, { bearer: true });

async function runnersList(edge: Edge) {
  return (await get(edge, '/api/admin/runners')).body.runners as Array<{
    id: string;
    status: string;
    drivers: string[];
    stats: { driver: string } | null;
  }>;
}

/** A real runner process on the given data folder, started with the given driver setting. */
async function runnerWith(edge: Edge, dataDir: string, token: string, driver: string): Promise<Spawned> {
  const runner = spawnService(
    process.execPath,
    [join(root, 'runners/bin/keel-runner.mjs')],
    {
      ...process.env,
      KEEL_URL: edge.base,
      KEEL_RUNNER_TOKEN: token,
      KEEL_RUNNER_DATA_DIR: dataDir,
      KEEL_RUNNER_DRIVER: driver,
      KEEL_IDLE_STOP_SECONDS: '0',
      REDIS_URL: (await testInfra()).redisUrl,
    },
    root,
  );
  await waitFor(
    `a runner (${driver}) online`,
    async () => {
      if (runner.child.exitCode !== null) throw new Error(`the runner exited:\n${runner.output()}`);
      const [r] = await runnersList(edge);
      return r?.status === 'online' ? true : undefined;
    },
    60_000,
  );
  return runner;
}

async function killed(runner: Spawned): Promise<void> {
  const exited = new Promise((r) => runner.child.once('exit', r));
  runner.child.kill('SIGKILL');
  await exited;
}

async function status(edge: Edge, id: string): Promise<{ status: string; reason: string | null }> {
  return (await get(edge, `/api/workspaces/${id}/status`)).body;
}

describe('runner availability (a real runner process, killed and restarted)', () => {
  test('an offline runner: its workspaces say unavailable, calls fail at once with 503, all works again after', async () => {
    const edge = await edgeOnPort();
    const dataDir = mkdtempSync(join(tmpdir(), 'keel-avail-'));
    chmodSync(dataDir, 0o711);
    const token = (await edge.admin.request('POST', '/api/admin/runner-tokens', {}, { bearer: true })).body
      .token as string;
    let runner = await runnerWith(edge, dataDir, token, 'process');
    try {
      const ws = await edge.admin.request('POST', '/api/workspaces', { name: 'offline' }, { bearer: true });
      assert.equal(ws.status, 201, JSON.stringify(ws.body));
      const id = ws.body.id as string;
      assert.equal(ws.body.driver, 'process', 'the workspace keeps the driver it was placed on');
      await waitFor('running', async () =>
        (await status(edge, id)).status === 'running' ? true : undefined,
      );
      const put = await edge.admin.request(
        'PUT',
        `/api/workspaces/${id}/files?path=a.txt`,
        { content: 'hello' },
        { bearer: true },
      );
      assert.equal(put.status, 200, JSON.stringify(put.body));

      await killed(runner);
      const killedAt = Date.now();
      // A read sent at once waits for no answer past the heartbeat's lapse (TTL, renewed every
      // second while the runner lives): it is refused within seconds, not after 15 s.
      const early = await get(edge, `/api/workspaces/${id}/files?path=a.txt`);
      const earlyMs = Date.now() - killedAt;
      assert.equal(early.body.error?.code, 'runner_unavailable', JSON.stringify(early.body));
      assert.ok(earlyMs < HEARTBEAT_TTL_SECONDS * 1000 + 2_500, `the first read failed after ${earlyMs} ms`);
      // From the lapse on, the workspace says why.
      const seen = await waitFor(
        'unavailable',
        async () => {
          const s = await status(edge, id);
          return s.status === 'unavailable' ? s : undefined;
        },
        30_000,
        250,
      );
      assert.ok(Date.now() - killedAt < HEARTBEAT_TTL_SECONDS * 1000 + 2_500, 'seen unavailable late');
      assert.match(seen.reason ?? '', /runner is offline/);
      const one = await get(edge, `/api/workspaces/${id}`);
      assert.equal(one.body.status, 'unavailable');
      const list = await get(edge, '/api/workspaces');
      assert.equal(list.body.workspaces.find((w: { id: string }) => w.id === id)?.status, 'unavailable');

      const started = Date.now();
      const read = await get(edge, `/api/workspaces/${id}/files?path=a.txt`);
      const tookMs = Date.now() - started;
      assert.equal(read.status, 503, JSON.stringify(read.body));
      assert.equal(read.body.error.code, 'runner_unavailable');
      assert.ok(tookMs < 2_000, `the read failed after ${tookMs} ms`);
      const tree = await get(edge, `/api/workspaces/${id}/files/tree`);
      assert.equal(tree.body.error?.code, 'runner_unavailable', JSON.stringify(tree.body));
      const write = await edge.admin.request(
        'PUT',
        `/api/workspaces/${id}/files?path=b.txt`,
        { content: 'late' },
        { bearer: true },
      );
      assert.equal(write.body.error?.code, 'runner_unavailable', JSON.stringify(write.body));

      const exec = await edge.admin.request(
        'POST',
        `/api/workspaces/${id}/execute`,
        { command: 'touch /workspace/ran' },
        { bearer: true },
      );
      assert.equal(exec.status, 503, JSON.stringify(exec.body));
      assert.equal(exec.body.error.code, 'runner_unavailable');
      const stop = await edge.admin.request('POST', `/api/workspaces/${id}/stop`, undefined, {
        bearer: true,
      });
      assert.equal(stop.status, 503, JSON.stringify(stop.body));

      // Nothing waits for the runner: no command and no call are queued for its return.
      const runnerId = ws.body.runnerId as string;
      const keys = runnerKeys(edge.app.services.config.redisPrefix, runnerId);
      const redis = edge.app.services.redis();
      assert.equal(await redis.llen(`${keys.base}calls`), 0, 'the calls were taken back');
      const execMetas = await redis.keys(`${keys.base}exec:*`);
      assert.deepEqual(execMetas, [], 'no execution recorded');

      runner = await runnerWith(edge, dataDir, token, 'process');
      await waitFor('running again', async () =>
        (await status(edge, id)).status === 'running' ? true : undefined,
      );
      const again = await get(edge, `/api/workspaces/${id}/files?path=a.txt`);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.content, 'hello');
      const late = await get(edge, `/api/workspaces/${id}/files?path=b.txt`);
      assert.equal(late.status, 404, 'the refused write never landed');
      const ran = await edge.admin.request(
        'POST',
        `/api/workspaces/${id}/execute`,
        { command: 'echo back' },
        { bearer: true },
      );
      assert.equal(ran.status, 202, JSON.stringify(ran.body));
      assert.equal((await runnersList(edge)).length, 1, 'the same runner came back');
      await edge.admin.request('DELETE', `/api/workspaces/${id}`, undefined, { bearer: true });
    } finally {
      await runner.stop('SIGTERM');
      await edge.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a workspace keeps its driver: auto keeps the first choice; another driver makes it unavailable, not failed', async () => {
    await ensureDockerAndImage();
    const edge = await edgeOnPort();
    const dataDir = mkdtempSync(join(tmpdir(), 'keel-driver-'));
    chmodSync(dataDir, 0o711);
    const token = (
      await edge.admin.request('POST', '/api/admin/runner-tokens', { maxUses: 1 }, { bearer: true })
    ).body.token as string;
    let runner = await runnerWith(edge, dataDir, token, 'process');
    try {
      const ws = await edge.admin.request('POST', '/api/workspaces', { name: 'kept' }, { bearer: true });
      const id = ws.body.id as string;
      await waitFor('running', async () =>
        (await status(edge, id)).status === 'running' ? true : undefined,
      );
      const runnerId = ws.body.runnerId as string;
      const credential = readFileSync(join(dataDir, 'credential.json'), 'utf8');

      // A Docker engine with the image is reachable here: `auto` would pick it on a first start.
      await runner.stop('SIGTERM');
      runner = await runnerWith(edge, dataDir, token, 'auto');
      let [listed] = await runnersList(edge);
      assert.equal(listed?.id, runnerId);
      assert.deepEqual(listed?.drivers, ['process']);
      assert.equal(listed?.stats?.driver, 'process');
      assert.equal((await status(edge, id)).status, 'running');
      const put = await edge.admin.request(
        'PUT',
        `/api/workspaces/${id}/files?path=k.txt`,
        { content: 'kept' },
        { bearer: true },
      );
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(readFileSync(join(dataDir, 'credential.json'), 'utf8'), credential, 'credential reused');

      // Forced onto Docker, the same runner cannot serve the process workspace: it says so.
      await runner.stop('SIGTERM');
      runner = await runnerWith(edge, dataDir, token, 'docker');
      [listed] = await runnersList(edge);
      assert.deepEqual(listed?.drivers, ['docker'], 'the admin list shows the driver it runs');
      const keys = runnerKeys(edge.app.services.config.redisPrefix, runnerId);
      const redis = edge.app.services.redis();
      // A few heartbeats, each of which would have called it removed outside Keel.
      const published = await waitFor(
        'the runner publishes it unavailable',
        async () => {
          const raw = await redis.get(keys.workspaceStatus(id));
          const s = raw ? JSON.parse(raw) : undefined;
          return s?.status === 'unavailable' ? s : undefined;
        },
        20_000,
      );
      assert.match(published.reason, /process driver/);
      await new Promise((r) => setTimeout(r, 7_000));
      const later = JSON.parse((await redis.get(keys.workspaceStatus(id)))!);
      assert.equal(later.status, 'unavailable', 'never failed');
      const seen = await status(edge, id);
      assert.equal(seen.status, 'unavailable');
      assert.match(seen.reason ?? '', /process driver/);
      const refused = await get(edge, `/api/workspaces/${id}/files?path=k.txt`);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'runner_unavailable');
      const exec = await edge.admin.request(
        'POST',
        `/api/workspaces/${id}/execute`,
        { command: 'true' },
        { bearer: true },
      );
      assert.equal(exec.status, 503, JSON.stringify(exec.body));

      // Back on its own driver, the workspace is there, untouched.
      await runner.stop('SIGTERM');
      runner = await runnerWith(edge, dataDir, token, 'process');
      await waitFor('running again', async () =>
        (await status(edge, id)).status === 'running' ? true : undefined,
      );
      [listed] = await runnersList(edge);
      assert.deepEqual(listed?.drivers, ['process']);
      const kept = await get(edge, `/api/workspaces/${id}/files?path=k.txt`);
      assert.equal(kept.body.content, 'kept', JSON.stringify(kept.body));
      await edge.admin.request('DELETE', `/api/workspaces/${id}`, undefined, { bearer: true });
    } finally {
      await runner.stop('SIGTERM');
      await edge.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
