/*
 * Fencing, the runner's side, against a real edge (PGlite, real Redis) and a real runner on the
 * process driver: a job older than the generation the runner holds is refused `fenced`; a
 * create at a newer generation replaces the copy here; the copies the edge calls stale are
 * removed, and only those the runner asked about and still holds at that generation; a move
 * that fails before its handoff leaves the workspace running.
 *
 * `POST /api/runners/placements/check` is the edge's own (a workspace is stale when it is gone,
 * deleted, on another runner or at another generation), wrapped by this file's server to add
 * ids the runner never asked about and to let a create arrive before the answer.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ServerType, serve } from '@hono/node-server';
import { PlacementsCheckResponse } from '@keel/contract/fleet';
import type { JobOutcome, RunnerJob } from '@keel/contract/jobs';
import { runnerKeys, runnerQueueName } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { workspaces } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { newId } from '../../edge/src/ids.ts';
import { forgetWorkspaceRow } from '../../edge/src/workspaces/access.ts';
import { parseRunnerEnv } from '../../runners/src/env.ts';
import { register, type SavedCredential } from '../../runners/src/registration.ts';
import { Runner } from '../../runners/src/runner.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { testInfra } from '../harness/infra.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const bearer = { bearer: true } as const;
const CHECK_PATH = '/api/runners/placements/check';

interface Setup {
  app: TestApp;
  admin: BrowserClient;
  runner: Runner;
  driver: ProcessDriver;
  credential: SavedCredential;
  /** Runs before the stand-in answers a placements check (a create arriving meanwhile). */
  beforeAnswer: (() => Promise<void>) | undefined;
  /** Ids the stand-in adds to its answer, though the runner did not ask about them. */
  extraStale: string[];
  checks: number;
  close(): Promise<void>;
}

async function setUp(): Promise<Setup> {
  const infra = await testInfra();
  const app = await createTestApp();
  const s = { beforeAnswer: undefined, extraStale: [], checks: 0 } as unknown as Setup;

  const port = await freePort();
  const server: ServerType = await new Promise((resolve) => {
    const srv = serve(
      {
        fetch: async (req) => {
          const url = new URL(req.url);
          // The edge's own answer, with the test's hooks: a create arriving before the
          // answer, and ids added that the runner never asked about.
          if (req.method === 'POST' && url.pathname === CHECK_PATH) {
            const res = await app.app.fetch(req);
            if (res.status !== 200) return res;
            s.checks++;
            const { stale } = PlacementsCheckResponse.parse(await res.json());
            await s.beforeAnswer?.();
            return Response.json({ stale: [...stale, ...s.extraStale] });
          }
          return app.app.fetch(req);
        },
        port,
        hostname: '127.0.0.1',
      },
      () => resolve(srv),
    );
  });
  const base = `http://127.0.0.1:${port}`;
  const admin = new BrowserClient((path, init) => fetch(new URL(path, base), init));
  await admin.request('POST', '/api/auth/signup', {
    email: 'fence@example.com',
    password: 'correct horse battery staple',
    name: 'Fence',
  });
  const token = await admin.request('POST', '/api/admin/runner-tokens', { maxUses: 1 }, bearer);
  const dataDir = mkdtempSync(join(tmpdir(), 'keel-fencing-'));
  chmodSync(dataDir, 0o711);
  const config = parseRunnerEnv({
    KEEL_URL: base,
    KEEL_RUNNER_TOKEN: token.body.token,
    KEEL_RUNNER_NAME: 'fencing',
    KEEL_RUNNER_DATA_DIR: dataDir,
    KEEL_RUNNER_DRIVER: 'process',
    KEEL_IDLE_STOP_SECONDS: '0',
    REDIS_URL: infra.redisUrl,
  });
  const driver = new ProcessDriver({ root: join(dataDir, 'workspaces') });
  const credential = await register(config, {
    drivers: ['process'],
    capacity: { workspaces: 20, cpus: 2, memoryMb: 4096 },
  });
  const runner = new Runner(config, credential, driver);
  await runner.start();
  Object.assign(s, {
    app,
    admin,
    runner,
    driver,
    credential,
    async close() {
      const own = await runner.ownWorkspaces().catch(() => [] as string[]);
      await runner.stop();
      for (const id of own) await driver.remove(id, { keepData: false }).catch(() => {});
      await new Promise<void>((r) => server.close(() => r()));
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
  return s;
}

describe('fencing (runner side, process driver)', () => {
  let s: Setup;
  before(async () => {
    s = await setUp();
  });
  after(async () => {
    await s?.close();
  });

  const keys = () => runnerKeys(s.app.services.config.redisPrefix, s.credential.runnerId);
  const call = (job: RunnerJob): Promise<JobOutcome> =>
    s.app.services.queue.call(runnerQueueName(s.credential.runnerId), job, 60_000);
  const createJob = (workspaceId: string, generation?: number): RunnerJob => ({
    v: CONTRACT_VERSION,
    type: 'workspace.create',
    workspaceId,
    ...(generation ? { generation } : {}),
    spec: { cpus: 1, memoryMb: 512, network: false, driver: 'process' },
    source: { type: 'empty' },
  });
  const held = async (id: string) => s.app.services.redis().hget(keys().workspaceGenerations, id);

  async function create(name: string): Promise<string> {
    const res = await s.admin.request('POST', '/api/workspaces', { name, source: { type: 'empty' } }, bearer);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.id as string;
    await waitFor(
      `${id} running`,
      async () => ((await s.driver.status(id)) === 'running' && (await held(id)) ? true : undefined),
      60_000,
      100,
    );
    return id;
  }

  /** As a move does at the edge: the workspace's generation goes up. */
  async function raiseGeneration(id: string, generation: number) {
    await s.app.services.db.update(workspaces).set({ generation }).where(eq(workspaces.id, id));
    await forgetWorkspaceRow(s.app.services, id);
  }

  test('a create records generation 1; a job of an older generation is refused fenced', async () => {
    const id = await create('fenced');
    assert.equal(await held(id), '1');
    const ok = await call({ v: CONTRACT_VERSION, type: 'workspace.stop', workspaceId: id, generation: 1 });
    assert.deepEqual(ok, { ok: true, result: {} });
    // A create at a newer generation (the workspace moved back here) replaces the copy.
    await raiseGeneration(id, 3);
    const replaced = await call(createJob(id, 3));
    assert.equal(replaced.ok, true, JSON.stringify(replaced));
    assert.equal(await held(id), '3');
    assert.equal(await s.driver.status(id), 'running');
    for (const type of [
      'workspace.start',
      'workspace.stop',
      'workspace.restart',
      'workspace.delete',
    ] as const) {
      const refused = await call({ v: CONTRACT_VERSION, type, workspaceId: id, generation: 2 });
      assert.equal(refused.ok, false, type);
      assert.equal(!refused.ok && refused.error.code, 'fenced', type);
    }
    const olderCreate = await call(createJob(id, 2));
    assert.equal(!olderCreate.ok && olderCreate.error.code, 'fenced');
    // Nothing the refused jobs would have done happened.
    assert.equal(await s.driver.status(id), 'running');
    // A job at the generation held, or one without any (an edge before fencing), runs.
    const stop = await call({ v: CONTRACT_VERSION, type: 'workspace.stop', workspaceId: id, generation: 3 });
    assert.equal(stop.ok, true, JSON.stringify(stop));
    const start = await call({ v: CONTRACT_VERSION, type: 'workspace.start', workspaceId: id });
    assert.equal(start.ok, true, JSON.stringify(start));
  });

  test('stale copies are removed; the others, and ids not asked about, are left', async () => {
    const stale = await create('stale');
    const kept = await create('kept');
    // A workload of this driver that the runner does not hold (so never asks about).
    const unasked = newId('workspace');
    await s.driver.create({
      workspaceId: unasked,
      cpus: 1,
      memoryMb: 256,
      network: false,
      storage: { kind: 'volume' },
    });
    s.extraStale = [unasked, newId('workspace')];
    try {
      await raiseGeneration(stale, 2);
      const checksBefore = s.checks;
      const removed = await s.runner.checkPlacements();
      assert.ok(s.checks > checksBefore, 'the edge was asked');
      // The periodic check may have just removed it (then this one found nothing left to remove).
      assert.ok(
        removed.every((id) => id === stale),
        JSON.stringify(removed),
      );
      assert.equal(await s.driver.status(stale), 'missing');
      const redis = s.app.services.redis();
      assert.equal(await held(stale), null);
      assert.equal(await redis.sismember(keys().workspaces, stale), 0);
      assert.equal(await redis.get(keys().workspaceStatus(stale)), null);
      assert.equal(await redis.hget(keys().workspaceDrivers, stale), null);
      // A job for the generation it left at, arriving late, is refused rather than run.
      const late = await call({
        v: CONTRACT_VERSION,
        type: 'workspace.start',
        workspaceId: stale,
        generation: 1,
      });
      assert.equal(!late.ok && late.error.code, 'fenced');
      assert.equal(await s.driver.status(kept), 'running');
      assert.equal(await held(kept), '1');
      assert.notEqual(await s.driver.status(unasked), 'missing');
    } finally {
      s.extraStale = [];
      await s.driver.remove(unasked, { keepData: false });
    }
  });

  test('a create at a newer generation arriving during the check keeps its workspace', async () => {
    const id = await create('moved-back');
    await raiseGeneration(id, 2);
    s.beforeAnswer = async () => {
      s.beforeAnswer = undefined;
      const outcome = await call(createJob(id, 2));
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
    };
    const removed = await s.runner.checkPlacements();
    assert.deepEqual(removed, []);
    assert.equal(await held(id), '2');
    assert.equal(await s.driver.status(id), 'running');
  });

  test('a move that fails before its handoff leaves the workspace running, and says why', async () => {
    const id = await create('evacuate');
    // A snapshot the edge never asked for: the move fails at the snapshot, before any handoff.
    const outcome = await call({
      v: CONTRACT_VERSION,
      type: 'workspace.evacuate',
      workspaceId: id,
      generation: 1,
      snapshotId: newId('snapshot'),
    });
    assert.equal(outcome.ok, false, JSON.stringify(outcome));
    assert.equal(await s.driver.status(id), 'running');
    const status = JSON.parse((await s.app.services.redis().get(keys().workspaceStatus(id))) ?? '{}');
    assert.equal(status.status, 'running');
    assert.equal(await held(id), '1');
  });
});
