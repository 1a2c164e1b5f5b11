/*
 * The runner's usage sampler against real parts: a real runner (Docker driver, real dockerd,
 * Redis, the edge on a port) sampling every second. A running workspace's CPU, memory and
 * running time reach its hourly row within seconds; a command run through the API and an AI
 * call (to the fake OpenAI-compatible model server standing in for vLLM) land there too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { usageDaily, usageHourly } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { FAKE_MODEL, type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { waitFor } from '../harness/ports.ts';
import { type Rig, readSse, startRig } from '../harness/runner-rig.ts';

describe('runner usage reports (docker driver, real dockerd and Redis)', () => {
  let rig: Rig;
  let fake: FakeOpenAi;
  let workspaceId: string;

  before(async () => {
    fake = await startFakeOpenAi();
    rig = await startRig('docker', {
      runnerEnv: {
        KEEL_RUNNER_USAGE_INTERVAL_SECONDS: '1',
        KEEL_AI_BASE_URL: fake.baseUrl,
        KEEL_AI_MODEL: FAKE_MODEL,
        KEEL_AI_TIMEOUT_MS: '4000',
        KEEL_AI_FIRST_TOKEN_TIMEOUT_MS: '2000',
      },
    });
    const created = await rig.admin.request('POST', '/api/workspaces', { name: 'usage' }, { bearer: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    workspaceId = created.body.id;
    await rig.waitForStatus(rig.admin, workspaceId, 'running');
  });

  after(async () => {
    if (workspaceId) {
      await rig?.admin.request('DELETE', `/api/workspaces/${workspaceId}`, undefined, { bearer: true });
    }
    await rig?.close();
    await fake?.close();
  });

  test('a running workspace’s CPU, memory and running seconds, its commands and AI calls reach the hourly row', async () => {
    const run = await rig.admin.request(
      'POST',
      `/api/workspaces/${workspaceId}/execute`,
      { command: 'head -c 30000000 /dev/urandom | sha256sum > burn.txt; cat burn.txt', timeoutMs: 30_000 },
      { bearer: true },
    );
    assert.equal(run.status, 202, JSON.stringify(run.body));
    const events = await readSse(
      await rig.http(`/api/workspaces/${workspaceId}/executions/${run.body.executionId}/events`, {
        headers: { authorization: `Bearer ${rig.admin.accessToken}` },
      }),
    );
    assert.deepEqual(JSON.parse(events.at(-1)!.data), { exitCode: 0 });

    fake.enqueue({ tokens: ['A ', 'hash.'] });
    const ai = await rig.http('/api/ai/explain', {
      method: 'POST',
      headers: { authorization: `Bearer ${rig.admin.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workspaceId, path: 'burn.txt' }),
    });
    assert.equal(ai.status, 200);
    assert.equal(JSON.parse((await readSse(ai)).at(-1)!.data).outcome, 'success');

    const db = rig.app.services.db;
    const row = await waitFor(
      'the workspace’s usage in its hourly row',
      async () => {
        const rows = await db.select().from(usageHourly).where(eq(usageHourly.workspaceId, workspaceId));
        const sum = (k: 'cpuSeconds' | 'memoryByteSeconds' | 'runningSeconds' | 'commands' | 'aiCalls') =>
          rows.reduce((n, r) => n + Number(r[k]), 0);
        const totals = {
          cpuSeconds: sum('cpuSeconds'),
          memoryByteSeconds: sum('memoryByteSeconds'),
          runningSeconds: sum('runningSeconds'),
          commands: sum('commands'),
          aiCalls: sum('aiCalls'),
        };
        return totals.cpuSeconds > 0.05 &&
          totals.memoryByteSeconds > 0 &&
          totals.runningSeconds >= 2 &&
          totals.aiCalls === 1
          ? totals
          : undefined;
      },
      15_000,
    );
    assert.equal(row.commands, 1);
    const [day] = await db.select().from(usageDaily).where(eq(usageDaily.workspaceId, workspaceId));
    assert.ok(day && day.cpuSeconds > 0 && Number(day.commands) === 1);

    const mine = await rig.admin.request('GET', '/api/me/usage?granularity=hour', undefined, {
      bearer: true,
    });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.equal(mine.body.workspaces[0].workspaceId, workspaceId);
    assert.equal(mine.body.workspaces[0].name, 'usage');
    assert.ok(mine.body.totals.cpuSeconds > 0);
    assert.ok(mine.body.totals.runningSeconds >= 2);
    assert.ok(mine.body.buckets.at(-1).workspacesRunning >= 1);
    assert.equal(mine.body.models[0].calls, 1);
  });
});
