/*
 * The placement routes as an attacker and a careless client see them: other organizations'
 * workspaces, lower roles, malformed policies; and the install's default policy behind an
 * organization that set none. No runner is registered, so every workspace waits `queued`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { auditEvents } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';

describe('placement routes: authorization and bad input', () => {
  let app: TestApp;
  let admin: BrowserClient;
  let developer: BrowserClient;
  let otherDeveloper: BrowserClient;
  let viewer: BrowserClient;
  let stranger: BrowserClient;
  let orgId: string;
  let workspaceId: string;

  const client = () => new BrowserClient((path, init) => app.fetch(path, init));
  async function signUp(email: string, extra: Record<string, unknown> = {}) {
    const c = client();
    const res = await c.request('POST', '/api/auth/signup', {
      email,
      password: PASSWORD,
      name: email,
      ...extra,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { c, body: res.body };
  }
  async function member(role: string, email: string) {
    const inv = await admin.request('POST', `/api/orgs/${orgId}/invitations`, { role }, { bearer: true });
    return (await signUp(email, { inviteToken: inv.body.token })).c;
  }

  before(async () => {
    // Open sign-up: the stranger signs up into an organization of their own.
    app = await createTestApp({ env: { KEEL_OPEN_SIGNUP: 'true' } });
    const first = await signUp('pl-admin@example.com');
    admin = first.c;
    orgId = first.body.organization.id;
    developer = await member('developer', 'pl-dev@example.com');
    otherDeveloper = await member('developer', 'pl-dev2@example.com');
    viewer = await member('viewer', 'pl-viewer@example.com');
    stranger = (await signUp('pl-stranger@example.com')).c;
    const ws = await developer.request(
      'POST',
      '/api/workspaces',
      { name: 'queued', source: { type: 'empty' }, placement: { region: 'eu' } },
      { bearer: true },
    );
    assert.equal(ws.status, 201, JSON.stringify(ws.body));
    workspaceId = ws.body.id;
  });

  after(async () => {
    await app?.close();
  });

  test('with no runner at all, a new workspace is queued with the reason, not refused', async () => {
    const s = await developer.request('GET', `/api/workspaces/${workspaceId}/status`, undefined, {
      bearer: true,
    });
    assert.equal(s.body.status, 'queued');
    assert.equal(s.body.reason, 'No runner is registered for this organization');
  });

  test('a workspace placement: its owner and an admin see it; another developer and another organization get 404', async () => {
    for (const c of [developer, admin]) {
      const res = await c.request('GET', `/api/workspaces/${workspaceId}/placement`, undefined, {
        bearer: true,
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.current.workspaceId, workspaceId);
      assert.equal(res.body.current.runnerId, null);
      assert.equal(res.body.current.reason, 'create');
      assert.match(res.body.current.id, /^plc_/);
    }
    for (const c of [otherDeveloper, viewer, stranger]) {
      const res = await c.request('GET', `/api/workspaces/${workspaceId}/placement`, undefined, {
        bearer: true,
      });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
    }
    for (const bad of ['ws_nope', 'not-an-id', '..%2F..%2Fadmin', `${workspaceId}x`]) {
      const res = await developer.request('GET', `/api/workspaces/${bad}/placement`, undefined, {
        bearer: true,
      });
      assert.equal(res.status, 404, bad);
    }
    const anonymous = await client().request('GET', `/api/workspaces/${workspaceId}/placement`);
    assert.equal(anonymous.status, 401);
  });

  test('the policy routes are for admins: developers and viewers get 403', async () => {
    for (const c of [developer, viewer]) {
      const get = await c.request('GET', '/api/admin/placement-policy', undefined, { bearer: true });
      assert.equal(get.status, 403);
      const put = await c.request(
        'PUT',
        '/api/admin/placement-policy',
        { policy: { strategy: 'round-robin' } },
        { bearer: true },
      );
      assert.equal(put.status, 403);
      assert.equal(put.body.error.code, 'forbidden');
    }
  });

  test('malformed policies are refused 4xx with the error body, never stored', async () => {
    const bodies: unknown[] = [
      {},
      { policy: { strategy: 'random' } },
      { policy: { strategy: 'least-loaded', extra: true } },
      { policy: { requiredLabels: { 'Not A Key': 'x' } } },
      { policy: { preferredLabels: { region: 'x'.repeat(129) } } },
      {
        policy: { requiredLabels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) },
      },
      { policy: 'least-loaded' },
      { policy: null, more: 1 },
    ];
    for (const body of bodies) {
      const res = await admin.request('PUT', '/api/admin/placement-policy', body, { bearer: true });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error.code, 'validation_failed');
      assert.ok(res.body.error.requestId);
    }
    const notJson = await admin.request('PUT', '/api/admin/placement-policy', undefined, {
      bearer: true,
      headers: { 'content-type': 'application/json' },
    });
    assert.ok(notJson.status >= 400 && notJson.status < 500);
    const get = await admin.request('GET', '/api/admin/placement-policy', undefined, { bearer: true });
    assert.equal(get.body.policy, null);
  });

  test('set, then back to the install default; the install default follows the install settings', async () => {
    const set = await admin.request(
      'PUT',
      '/api/admin/placement-policy',
      { policy: { strategy: 'round-robin', requiredLabels: { region: 'eu' } } },
      { bearer: true },
    );
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.policy, {
      strategy: 'round-robin',
      requiredLabels: { region: 'eu' },
      preferredLabels: {},
      cpuOvercommit: 8,
      memoryOvercommit: 1.5,
    });
    assert.deepEqual(set.body.effective, set.body.policy);
    assert.equal(set.body.installDefault.strategy, 'least-loaded');

    const install = await admin.request(
      'PUT',
      '/api/install/settings',
      { placementPolicy: { strategy: 'round-robin', preferredLabels: { disk: 'ssd' } } },
      { bearer: true },
    );
    assert.equal(install.status, 200, JSON.stringify(install.body));
    const badInstall = await admin.request(
      'PUT',
      '/api/install/settings',
      { placementPolicy: { strategy: 'nearest' } },
      { bearer: true },
    );
    assert.equal(badInstall.status, 422);

    const reset = await admin.request(
      'PUT',
      '/api/admin/placement-policy',
      { policy: null },
      { bearer: true },
    );
    assert.equal(reset.status, 200);
    assert.equal(reset.body.policy, null);
    assert.deepEqual(reset.body.effective, {
      strategy: 'round-robin',
      requiredLabels: {},
      preferredLabels: { disk: 'ssd' },
      cpuOvercommit: 8,
      memoryOvercommit: 1.5,
    });
    const audited = await app.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, 'placement.policy.update'));
    assert.equal(audited.length, 2);
    assert.ok(audited.every((a) => a.organizationId === orgId));
    assert.deepEqual(audited.map((a) => (a.metadata as Record<string, unknown>).installDefault).sort(), [
      false,
      true,
    ]);
  });

  test('a workspace asking a malformed placement is refused 422', async () => {
    for (const placement of [
      { region: '' },
      { region: 'r'.repeat(65) },
      { requiredLabels: { UPPER: 'x' } },
      { preferredLabels: 'eu' },
      { zone: 'a' },
    ]) {
      const res = await developer.request(
        'POST',
        '/api/workspaces',
        { name: 'bad', source: { type: 'empty' }, placement },
        { bearer: true },
      );
      assert.equal(res.status, 422, JSON.stringify(placement));
    }
    const gpus = await developer.request(
      'POST',
      '/api/workspaces',
      { name: 'bad', source: { type: 'empty' }, resources: { cpus: 1, memoryMb: 512, gpus: 17 } },
      { bearer: true },
    );
    assert.equal(gpus.status, 422);
  });
});

describe('placement decisions keep a shared runner’s host figures to install administrators', () => {
  test('a developer reads the refusal without figures; an install administrator reads them', async () => {
    const app = await createTestApp();
    try {
      const client = () => new BrowserClient((path, init) => app.fetch(path, init));
      const installAdmin = client();
      const first = await installAdmin.request('POST', '/api/auth/signup', {
        email: 'pl-install@example.com',
        password: PASSWORD,
        name: 'Install',
      });
      assert.equal(first.status, 201);
      const token = await installAdmin.request('POST', '/api/install/runner-tokens', {}, { bearer: true });
      assert.equal(token.status, 201, JSON.stringify(token.body));
      const reg = await app.fetch('/api/runners/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token: token.body.token,
          name: 'shared-small',
          capacity: { workspaces: 10, cpus: 2, memoryMb: 512 },
          drivers: ['process'],
        }),
      });
      const { runnerId } = (await reg.json()) as { runnerId: string };
      const beat = {
        v: 1,
        runnerId,
        at: new Date().toISOString(),
        version: 'test',
        driver: 'process',
        cpus: 2,
        load: [0, 0, 0],
        memory: { totalMb: 512, freeMb: 300 },
        disk: { totalMb: 10_000, freeMb: 5_000 },
        workspacesRunning: 0,
        gpus: [],
      };
      await app.services
        .redis()
        .set(runnerKeys(app.services.config.redisPrefix, runnerId).heartbeat, JSON.stringify(beat), 'EX', 60);
      const inv = await installAdmin.request(
        'POST',
        `/api/orgs/${first.body.organization.id}/invitations`,
        { role: 'developer' },
        { bearer: true },
      );
      const dev = client();
      await dev.request('POST', '/api/auth/signup', {
        email: 'pl-shared-dev@example.com',
        password: PASSWORD,
        name: 'Dev',
        inviteToken: inv.body.token,
      });
      const ws = await dev.request(
        'POST',
        '/api/workspaces',
        { name: 'big', resources: { cpus: 1, memoryMb: 4096 } },
        { bearer: true },
      );
      assert.equal(ws.body.status, 'queued', JSON.stringify(ws.body));
      const seen = async (c: BrowserClient) => {
        const res = await c.request('GET', `/api/workspaces/${ws.body.id}/placement`, undefined, {
          bearer: true,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return res.body.current.candidates[0];
      };
      const forDev = await seen(dev);
      assert.equal(forDev.refusal, 'memory');
      assert.equal(forDev.detail, 'not enough memory free');
      assert.equal(forDev.score, null);
      assert.doesNotMatch(JSON.stringify(forDev), /\d+ MB/);
      const forInstall = await seen(installAdmin);
      assert.match(forInstall.detail, /needs 4096 MB of memory, \d+ MB free/);
      // Placed there: the summary's share of room left is the host's figure too.
      const small = await dev.request(
        'POST',
        '/api/workspaces',
        { name: 'small', resources: { cpus: 1, memoryMb: 128 } },
        { bearer: true },
      );
      assert.equal(small.body.runnerId, runnerId, JSON.stringify(small.body));
      const summary = async (c: BrowserClient) =>
        (await c.request('GET', `/api/workspaces/${small.body.id}/placement`, undefined, { bearer: true }))
          .body.current.summary as string;
      assert.doesNotMatch(await summary(dev), /%/);
      assert.match(await summary(installAdmin), /\(\d+%\)/);
    } finally {
      await app.close();
    }
  });
});
