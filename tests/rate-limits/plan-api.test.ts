import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { aiUsage } from '@keel/drizzle/schema';
import { type AccountRig, assertError, startAccountRig } from '../account/account-rig.ts';
import type { BrowserClient } from '../harness/browser-client.ts';

const limits = (over: Partial<Record<string, number | null>> = {}) => ({
  aiTokensPerDay: 5000,
  concurrentWorkspaces: 5,
  concurrentCommands: null,
  apiRequestsPerMinute: null,
  ...over,
});

describe('the plan: who reads and sets it, what it accepts, AI tokens a day (real PostgreSQL and Redis)', () => {
  let rig: AccountRig;
  let root: BrowserClient;
  let admin: BrowserClient;
  let developer: BrowserClient;
  let otherAdmin: BrowserClient;
  before(async () => {
    rig = await startAccountRig({
      KEEL_PLAN_DEFAULT_NAME: 'Starter',
      KEEL_PLAN_DEFAULT_CONCURRENT_COMMANDS: '3',
      KEEL_PLAN_MAX_CONCURRENT_WORKSPACES: '10',
      KEEL_PLAN_MAX_AI_TOKENS_PER_DAY: '1000000',
    });
    await rig.addPerson('admin@example.com', rig.orgA, 'admin');
    await rig.addPerson('dev@example.com', rig.orgA, 'developer');
    await rig.addPerson('admin-b@example.com', rig.orgB, 'admin');
    root = await rig.signIn('root@example.com');
    admin = await rig.signIn('admin@example.com');
    developer = await rig.signIn('dev@example.com');
    otherAdmin = await rig.signIn('admin-b@example.com');
  });
  after(() => rig.close());

  const get = (c: BrowserClient) => c.request('GET', '/api/admin/plan', undefined, { bearer: true });
  const put = (c: BrowserClient, body: unknown) =>
    c.request('PUT', '/api/admin/plan', body, { bearer: true });

  test('without a plan of its own an organization has the install’s default, bounded by the maximums', async () => {
    const res = await get(admin);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.source, 'install');
    assert.deepEqual(res.body.plan, {
      name: 'Starter',
      // No default for workspaces or tokens: the install's maximums bound them.
      limits: {
        aiTokensPerDay: 1_000_000,
        concurrentWorkspaces: 10,
        concurrentCommands: 3,
        apiRequestsPerMinute: null,
      },
    });
    assert.equal(res.body.maximums.concurrentWorkspaces, 10);
    assert.deepEqual(res.body.usage, {
      workspacesRunning: 0,
      commandsRunning: 0,
      aiTokensToday: 0,
      refusalsToday: { ip: 0, person: 0, plan: 0, ai: 0, workspaces: 0, commands: 0 },
    });
  });

  test('an admin reads the plan but may not set it; a developer may do neither; the super_admin sets it', async () => {
    assertError(await put(admin, { plan: { name: 'Mine', limits: limits() } }), 403, 'forbidden');
    assertError(await get(developer), 403, 'forbidden');
    assertError(await put(developer, { plan: null }), 403, 'forbidden');
    const set = await put(root, { plan: { name: 'Team', limits: limits({ concurrentCommands: 2 }) } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.source, 'organization');
    assert.equal(set.body.plan.name, 'Team');
    assert.equal(set.body.plan.limits.concurrentCommands, 2);
    // Another organization keeps its own (the default), and another admin reads only theirs.
    const b = await get(otherAdmin);
    assert.equal(b.body.source, 'install');
    assert.equal(b.body.plan.name, 'Starter');
    assert.equal((await get(admin)).body.plan.name, 'Team');
  });

  test('bad bodies are refused with the error body; nothing changes', async () => {
    const raw = await rig.t.fetch('/api/admin/plan', {
      method: 'PUT',
      headers: { authorization: `Bearer ${root.accessToken}`, 'content-type': 'application/json' },
      body: '{"plan": ',
    });
    assertError({ status: raw.status, body: await raw.json() }, 400, 'invalid_json');
    for (const body of [
      {},
      { plan: { name: '', limits: limits() } },
      { plan: { name: 'x', limits: limits({ concurrentWorkspaces: 0 }) } },
      { plan: { name: 'x', limits: limits({ concurrentWorkspaces: -1 }) } },
      { plan: { name: 'x', limits: limits({ concurrentWorkspaces: 1.5 }) } },
      { plan: { name: 'x', limits: { ...limits(), extra: 1 } } },
      { plan: { name: 'x', limits: { aiTokensPerDay: null } } },
      { plan: { name: 'x'.repeat(81), limits: limits() } },
      { plan: { name: 'x', limits: limits({ concurrentWorkspaces: '3' as never }) } },
    ]) {
      assertError(await put(root, body), 422, 'validation_failed');
    }
    assert.equal((await get(root)).body.plan.name, 'Team');
  });

  test('a plan above the install’s maximum (or unlimited where there is one) is refused', async () => {
    const over = await put(root, { plan: { name: 'Big', limits: limits({ concurrentWorkspaces: 11 }) } });
    assertError(over, 422, 'resource_limit');
    assert.match(over.body.error.message, /concurrentWorkspaces \(at most 10\)/);
    assertError(
      await put(root, { plan: { name: 'Big', limits: limits({ concurrentWorkspaces: null }) } }),
      422,
      'resource_limit',
    );
    assertError(
      await put(root, { plan: { name: 'Big', limits: limits({ aiTokensPerDay: null }) } }),
      422,
      'resource_limit',
    );
    assert.equal((await get(root)).body.plan.name, 'Team');
  });

  test('AI tokens a day: a new model call is refused once today’s tokens reach the plan, counted', async () => {
    const set = await put(root, { plan: { name: 'Team', limits: limits({ aiTokensPerDay: 100 }) } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const explain = (c: BrowserClient) =>
      c.request(
        'POST',
        '/api/ai/explain',
        { workspaceId: 'ws_nonexistent', path: 'a.txt' },
        { bearer: true },
      );
    const usage = (organizationId: string, tokens: number, createdAt = new Date()) => ({
      organizationId,
      userId: 'someone',
      kind: 'explain',
      model: 'm',
      promptTokens: tokens / 2,
      completionTokens: tokens / 2,
      latencyMs: 1,
      outcome: 'success',
      createdAt,
    });
    // Yesterday's tokens do not count; today's 60 leave room: the call goes on (to a 404 here).
    await rig.t.services.db
      .insert(aiUsage)
      .values([usage(rig.orgA, 500, new Date(Date.now() - 26 * 3600_000)), usage(rig.orgA, 60)]);
    assertError(await explain(developer), 404, 'not_found');
    await rig.t.services.db.insert(aiUsage).values(usage(rig.orgA, 40));
    const refused = await explain(developer);
    assertError(refused, 429, 'rate_limited');
    assert.match(refused.body.error.message, /100 AI tokens a day/);
    const retry = Number(refused.headers.get('retry-after'));
    assert.ok(retry > 0 && retry <= 24 * 3600, `Retry-After ${retry}`);
    // Another organization's tokens are its own.
    await rig.t.services.db.insert(aiUsage).values(usage(rig.orgB, 10_000));
    assertError(await explain(otherAdmin), 404, 'not_found');
    const view = await get(admin);
    assert.equal(view.body.usage.aiTokensToday, 100);
    assert.equal(view.body.usage.refusalsToday.ai, 1);
  });

  test('back to the install’s default with null', async () => {
    const res = await put(root, { plan: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.source, 'install');
    assert.equal(res.body.plan.name, 'Starter');
  });
});
