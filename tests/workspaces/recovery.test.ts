import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { parseRunnerEnv } from '../../runners/src/env.ts';
import { register } from '../../runners/src/registration.ts';
import { Runner } from '../../runners/src/runner.ts';
import { containerName } from '../../runners/src/workloads/docker.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { edgeOnPort } from '../harness/edge-on-port.ts';
import { testInfra } from '../harness/infra.ts';
import { waitFor } from '../harness/ports.ts';
import { spawnService } from '../harness/processes.ts';
import { startRedisServer } from '../harness/redis-server.ts';
import { readSse, startRig } from '../harness/runner-rig.ts';
import { dockerCli, ensureDockerAndImage } from '../runner/docker-helper.ts';

const root = new URL('../..', import.meta.url).pathname;

/** Whether the workspace's container runs, and since when, as the engine says. */
const engineStart = (id: string) =>
  dockerCli('inspect', '-f', '{{.State.Running}} {{.State.StartedAt}}', containerName(id)).then((s) =>
    s.trim(),
  );

/** What happened to the container lately, for a failure message. */
const engineEvents = (id: string) =>
  dockerCli(
    'events',
    '--since',
    '120s',
    '--until',
    '0s',
    '--filter',
    `container=${containerName(id)}`,
    '--format',
    '{{.TimeNano}} {{.Action}} {{json .Actor.Attributes}}',
  );

async function status(admin: BrowserClient, id: string): Promise<{ status: string; reason: string | null }> {
  return (await admin.request('GET', `/api/workspaces/${id}/status`, undefined, { bearer: true })).body;
}

describe('runner failures', () => {
  test('kill -9 mid-job loses no job; the restarted runner re-attaches and closes lost output', async () => {
    await ensureDockerAndImage();
    const edge = await edgeOnPort();
    const dataDir = mkdtempSync(join(tmpdir(), 'keel-runner-kill-'));
    const token = await edge.admin.request(
      'POST',
      '/api/admin/runner-tokens',
      { maxUses: 1 },
      { bearer: true },
    );
    const env = {
      ...process.env,
      KEEL_URL: edge.base,
      KEEL_RUNNER_TOKEN: token.body.token,
      KEEL_RUNNER_DATA_DIR: dataDir,
      KEEL_RUNNER_DRIVER: 'docker',
      KEEL_RUNNER_LOCK_MS: '2000',
      REDIS_URL: (await testInfra()).redisUrl,
    };
    const startRunner = () =>
      spawnService(process.execPath, [join(root, 'runners/bin/keel-runner.mjs')], env, root);
    const online = async () =>
      waitFor('runner online', async () => {
        const r = await edge.admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
        return r.body.runners[0]?.status === 'online' ? true : undefined;
      });
    let runner = startRunner();
    const ids: string[] = [];
    let firstId: string | undefined;
    try {
      await online();
      const first = await edge.admin.request(
        'POST',
        '/api/workspaces',
        { name: 'survivor' },
        { bearer: true },
      );
      firstId = first.body.id;
      await waitFor('survivor running', async () =>
        (await status(edge.admin, first.body.id)).status === 'running' ? true : undefined,
      );
      const survivorStart = await engineStart(first.body.id);
      const lost = await edge.admin.request(
        'POST',
        `/api/workspaces/${first.body.id}/execute`,
        { command: 'echo started; sleep 60; echo ended' },
        {
          bearer: true,
        },
      );
      const lostUrl = `/api/workspaces/${first.body.id}/executions/${lost.body.executionId}/events`;
      const auth = { headers: { authorization: `Bearer ${edge.admin.accessToken}` } };
      // The command is under way at the kill: it has printed its first line, it has no exit
      // yet, and the runner lists it among the commands it runs.
      const [firstLine] = await readSse(await edge.http(lostUrl, auth), 1);
      assert.deepEqual([firstLine?.event, firstLine?.data], ['stdout', 'started\n']);
      const runnerId = first.body.runnerId as string;
      const keys = runnerKeys(edge.app.services.config.redisPrefix, runnerId);
      const redis = edge.app.services.redis();
      const entries = await redis.xrange(keys.execStream(lost.body.executionId), '-', '+');
      assert.ok(
        entries.every(([, fields]) => fields[1] !== 'exit'),
        `no exit before the kill: ${JSON.stringify(entries)}`,
      );
      assert.equal(await redis.sismember(`${keys.base}execs`, lost.body.executionId), 1, 'listed as running');
      const lostEvents = readSse(await edge.http(lostUrl, auth));
      for (let i = 0; i < 4; i++) {
        const w = await edge.admin.request('POST', '/api/workspaces', { name: `w${i}` }, { bearer: true });
        ids.push(w.body.id);
      }
      runner.child.kill('SIGKILL');
      await new Promise((r) => runner.child.once('exit', r));

      runner = startRunner();
      for (const id of ids) {
        await waitFor(
          `${id} running after the restart`,
          async () => ((await status(edge.admin, id)).status === 'running' ? true : undefined),
          60_000,
          200,
        );
      }
      assert.equal(
        (await status(edge.admin, first.body.id)).status,
        'running',
        're-attached to the running workspace',
      );
      // A runner's death must not take its workspaces with it: the container ran throughout,
      // it was not started again behind the status.
      assert.equal(await engineStart(first.body.id), survivorStart, await engineEvents(first.body.id));
      const events = await lostEvents;
      const exit = JSON.parse(events.at(-1)!.data);
      assert.equal(events.at(-1)!.event, 'exit');
      assert.match(exit.error, /restarted/);
      assert.ok(!events.some((e) => e.data.includes('ended')), 'the command never finished');
      const again = await edge.admin.request(
        'POST',
        `/api/workspaces/${first.body.id}/execute`,
        { command: 'echo alive' },
        { bearer: true },
      );
      const out = await readSse(
        await edge.http(`/api/workspaces/${first.body.id}/executions/${again.body.executionId}/events`, {
          headers: { authorization: `Bearer ${edge.admin.accessToken}` },
        }),
      );
      assert.equal(out[0]!.data, 'alive\n');
    } finally {
      await runner.stop('SIGTERM');
      for (const id of [...ids]) {
        await edge.admin.request('DELETE', `/api/workspaces/${id}`, undefined, { bearer: true });
      }
      // Only this test's workspaces: other test files share the Docker engine.
      const { DockerDriver } = await import('../../runners/src/workloads/docker.ts');
      const driver = new DockerDriver();
      for (const id of [...ids, ...(firstId ? [firstId] : [])]) {
        await driver.remove(id, { keepData: false }).catch(() => {});
      }
      await edge.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('queued jobs survive a Redis restart with append-only persistence', async () => {
    const redisDir = mkdtempSync(join(tmpdir(), 'keel-redis-aof-'));
    let redis = await startRedisServer({ appendOnly: true, dir: redisDir });
    const edge = await edgeOnPort({ env: { REDIS_URL: redis.url } });
    const dataDir = mkdtempSync(join(tmpdir(), 'keel-runner-aof-'));
    chmodSync(dataDir, 0o711);
    try {
      const token = await edge.admin.request('POST', '/api/admin/runner-tokens', {}, { bearer: true });
      const config = parseRunnerEnv({
        KEEL_URL: edge.base,
        KEEL_RUNNER_TOKEN: token.body.token,
        KEEL_RUNNER_DATA_DIR: dataDir,
        REDIS_URL: redis.url,
        KEEL_IDLE_STOP_SECONDS: '0',
      });
      const credential = await register(config, {
        drivers: ['process'],
        capacity: { workspaces: 5, cpus: 1, memoryMb: 1024 },
      });
      // Nothing consumes the queue yet: the job waits in Redis.
      await edge.app.services.queue.enqueue(credential.queueName, {
        v: CONTRACT_VERSION,
        type: 'workspace.create',
        workspaceId: 'ws_persistedjobaaaaaaaa',
        spec: { cpus: 1, memoryMb: 256, network: false },
        source: { type: 'empty' },
      });
      await edge.app.services.queue.close();
      edge.app.services.redis().disconnect();
      const port = redis.port;
      await redis.stop();
      redis = await startRedisServer({ appendOnly: true, dir: redisDir, port });

      const driver = new ProcessDriver({ root: join(dataDir, 'workspaces') });
      const runner = new Runner(config, credential, driver);
      await runner.start();
      try {
        await waitFor('the queued workspace to exist', async () =>
          (await driver.status('ws_persistedjobaaaaaaaa')) === 'running' ? true : undefined,
        );
      } finally {
        await runner.stop();
        await driver.remove('ws_persistedjobaaaaaaaa', { keepData: false });
      }
    } finally {
      await edge.close().catch(() => {});
      await redis.stop();
      rmSync(redisDir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('an idle workspace stops by itself', async () => {
    const rig = await startRig('process', { runnerEnv: { KEEL_IDLE_STOP_SECONDS: '1' } });
    try {
      const ws = await rig.admin.request('POST', '/api/workspaces', { name: 'idle' }, { bearer: true });
      const stopped = await rig.waitForStatus(rig.admin, ws.body.id, 'stopped', 20_000);
      assert.match(stopped.reason, /without activity/);
    } finally {
      await rig.close();
    }
  });
});
