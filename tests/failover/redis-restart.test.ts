/**
 * Redis restarted under a running Keel (append-only persistence, as scripts/up runs it): while
 * it is down requests are refused with 503 in bounded time; once it is back the same edge and
 * runner serve again, a job queued before runs, and a command's output written before is read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../harness/ports.ts';
import { type RedisServer, startRedisServer } from '../harness/redis-server.ts';
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

/** How long Redis stays down: long enough that requests meet it down. */
const DOWN_MS = 3_000;

describe('Redis restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-redis-restart-'));
  let redis: RedisServer;
  let rig: Rig;
  before(async () => {
    redis = await startRedisServer({ appendOnly: true, dir });
    rig = await startRig('process', {
      edgeEnv: { REDIS_URL: redis.url },
      runnerEnv: { REDIS_URL: redis.url },
    });
  });
  after(async () => {
    await rig?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('requests get 503 fast while it is down; the same edge and runner serve again after', async () => {
    const ws = await runningWorkspace(rig, 'through-restart');
    const before = await execute(rig, ws, 'echo written before');
    const beforeEvents = await outputOf(rig, ws, before);
    const queued = await queueDelayedCreate(rig, redis.url, DOWN_MS);

    const restart = (async () => {
      const port = redis.port;
      await redis.stop();
      await new Promise((r) => setTimeout(r, DOWN_MS));
      redis = await startRedisServer({ appendOnly: true, dir, port });
      await waitFor('the edge to answer again', async () => {
        const a = await timedRequest(rig, 'GET', `/api/workspaces/${ws}/status`);
        return a.status === 200 ? true : undefined;
      });
    })();
    const answers = await askThroughout(
      () => timedRequest(rig, 'GET', `/api/workspaces/${ws}/status`),
      restart,
    );
    assertRefusedFast(answers, 'while Redis was down');
    console.log(`redis restart: ${outageSummary(answers)}`);

    await assertRecoveredFromRedis(rig, { ws, tag: 'restart', queued, before, beforeEvents });
  });

  test('a Redis that stops answering (paused, as behind a lost network) gets 503 fast, never a hang', async () => {
    const ws = await runningWorkspace(rig, 'through-pause');
    // A command that writes, so no answer can come from the edge's memory.
    const ask = () =>
      timedRequest(rig, 'PUT', `/api/workspaces/${ws}/files?path=paused.txt`, { content: 'x' });
    const pause = (async () => {
      redis.process.kill('SIGSTOP');
      try {
        await new Promise((r) => setTimeout(r, DOWN_MS + 2_000));
      } finally {
        redis.process.kill('SIGCONT');
      }
      await waitFor('the edge to answer again', async () => {
        const a = await ask();
        return a.status === 200 ? true : undefined;
      });
    })();
    const answers = await askThroughout(ask, pause);
    assertRefusedFast(answers, 'while Redis did not answer');
    console.log(`redis pause: ${outageSummary(answers)}`);
  });
});
