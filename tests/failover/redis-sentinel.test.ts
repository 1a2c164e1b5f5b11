/**
 * A Redis Sentinel failover under a running Keel: the primary is killed (kill -9), the
 * sentinels promote its replica, and the edge and runner, both given a redis+sentinel:// URL,
 * follow it by themselves, the runner as its own Redis user. What was replicated before the kill survives: a queued job, a
 * command's output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../harness/ports.ts';
import { type SentinelRedis, startSentinelRedis } from '../harness/redis-sentinel.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';
import {
  askThroughout,
  assertRecoveredFromRedis,
  assertRefusedFast,
  execute,
  outageSummary,
  outputOf,
  queueDelayedCreate,
  runningWorkspace,
  timedRequest,
} from './outage.ts';

describe('Redis Sentinel failover', () => {
  let redis: SentinelRedis;
  let rig: Rig;
  before(async () => {
    redis = await startSentinelRedis();
    rig = await startRig('process', {
      // Each runner its own Redis user, as scripts/up does: made on the replica too, since Redis
      // does not replicate ACL changes, so the runner is let in after the failover.
      edgeEnv: { REDIS_URL: redis.url, KEEL_REDIS_RUNNER_ACL: 'true' },
      runnerEnv: { REDIS_URL: redis.url },
    });
  });
  after(async () => {
    await rig?.close();
    await redis?.stop();
  });

  test('edge and runner follow the new primary; queued jobs and replicated output survive; the gap answers 503 fast', async () => {
    const ws = await runningWorkspace(rig, 'through-failover');
    const before = await execute(rig, ws, 'echo written before');
    const beforeEvents = await outputOf(rig, ws, before);
    const queued = await queueDelayedCreate(rig, redis.url, 3_000);
    // With asynchronous replication only what reached the replica survives the primary's death.
    await redis.replicated();
    const oldPort = await redis.primaryPort();

    const failover = redis.failover();
    const answers = await askThroughout(
      () => timedRequest(rig, 'GET', `/api/workspaces/${ws}/status`),
      failover.then(() =>
        // Until the edge has found the new primary.
        waitFor('the edge to answer again', async () => {
          const a = await timedRequest(rig, 'GET', `/api/workspaces/${ws}/status`);
          return a.status === 200 ? true : undefined;
        }),
      ),
    );
    const { newPort, ms } = await failover;
    assert.notEqual(newPort, oldPort);
    assertRefusedFast(answers, 'during the failover');
    console.log(`failover: promoted in ${ms} ms; ${outageSummary(answers)}`);

    await assertRecoveredFromRedis(rig, { ws, tag: 'failover', queued, before, beforeEvents });
  });
});
