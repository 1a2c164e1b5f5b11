/**
 * The runner's look at its engines against what it published (reconcile), on real Redis: a
 * status published while the engines are being listed is newer than the look and stays; a
 * workspace published as running before the look and missing from it is failed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { Redis } from 'ioredis';
import type { RunnerContext } from '../../runners/src/runner-context.ts';
import { reconcile } from '../../runners/src/workspaces/reconcile.ts';
import { testInfra } from '../harness/infra.ts';

describe('reconcile: what was published against the engines', () => {
  let redis: Redis;
  const keys = runnerKeys(`rc${randomBytes(4).toString('hex')}:`, 'rnr_reconcileorderaaaa');
  const status = (s: string) => JSON.stringify({ status: s, reason: null, at: new Date().toISOString() });

  /** A runner context with only what reconcile uses; `states` is the local engine's listing. */
  const context = (states: () => Promise<Map<string, unknown>>) =>
    ({
      redis,
      keys,
      lifecycle: new Map(),
      workspaceServer: new Map(),
      driver: { kind: 'docker', states },
      serverWorkspaces: () => new Map(),
      workspaceDrivers: async () => new Map(),
      workspaceLog: async () => {},
    }) as unknown as RunnerContext;

  before(async () => {
    redis = new Redis((await testInfra()).redisUrl, { maxRetriesPerRequest: null });
  });
  after(() => redis?.disconnect());

  test('a create that finishes while the engines are listed is not failed by the older look', async () => {
    const id = 'ws_reconcilecreateaaaa';
    await redis.sadd(keys.workspaces, id);
    await redis.set(keys.workspaceStatus(id), status('creating'));
    const ran = await reconcile(
      context(async () => {
        // The listing saw no container yet; the create job then made it and published running.
        await redis.set(keys.workspaceStatus(id), status('running'));
        return new Map();
      }),
    );
    assert.equal(ran, 0);
    assert.equal(JSON.parse((await redis.get(keys.workspaceStatus(id)))!).status, 'running');
  });

  test('running before the look and gone in it: failed, removed outside Keel', async () => {
    const id = 'ws_reconcilegoneaaaaaa';
    await redis.sadd(keys.workspaces, id);
    await redis.set(keys.workspaceStatus(id), status('running'));
    await reconcile(context(async () => new Map()));
    const now = JSON.parse((await redis.get(keys.workspaceStatus(id)))!);
    assert.equal(now.status, 'failed');
    assert.match(now.reason, /removed outside Keel/);
  });
});
