/*
 * Install administration on the real app with a real shared runner (registered with the
 * bootstrap token, process driver), real Redis and PGlite: who may manage what every
 * organization shares, what organization admins see of it, the install chain, install
 * settings, and how they bound new workspaces.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { RunnerJob } from '@keel/contract/jobs';
import { DEFAULT_PLACEMENT_POLICY } from '@keel/contract/placement';
import {
  auditEvents,
  installSettings,
  memberships,
  organizations,
  runners,
  runnerTokens,
  users,
  workspaces,
} from '@keel/drizzle/schema';
import { and, eq, sql } from 'drizzle-orm';
import { INSTALL_CHAIN } from '../../edge/src/audit/audit-log.ts';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';
import { createTestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
const BOOTSTRAP = randomBytes(24).toString('hex');

describe('install administration', () => {
  let rig: Rig;
  let sharedId: string;
  let founderId: string;
  let boss: BrowserClient;
  let bossId: string;
  let bossOrg: string;
  let developer: BrowserClient;
  /** Every job the edge enqueued, as it went to the runner's queue. */
  const jobs: RunnerJob[] = [];

  const db = () => rig.app.services.db;
  const installChain = () =>
    db().select().from(auditEvents).where(eq(auditEvents.chain, INSTALL_CHAIN)).orderBy(auditEvents.seq);
  const orgChain = (org: string) =>
    db().select().from(auditEvents).where(eq(auditEvents.chain, org)).orderBy(auditEvents.seq);
  const as = (client: BrowserClient, method: string, path: string, body?: unknown) =>
    client.request(method, path, body, { bearer: true });
  const putSettings = async (body: unknown) => {
    const res = await as(rig.admin, 'PUT', '/api/install/settings', body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const workspaceCount = async () =>
    (await db().select({ n: sql<number>`count(*)::int` }).from(workspaces))[0]!.n;

  before(async () => {
    rig = await startRig('process', {
      edgeEnv: { KEEL_RUNNER_BOOTSTRAP_TOKEN: BOOTSTRAP },
      runnerEnv: { KEEL_RUNNER_TOKEN: BOOTSTRAP },
    });
    sharedId = rig.credential.runnerId;
    const queue = rig.app.services.queue;
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = (async (name: string, job: RunnerJob, ...rest: unknown[]) => {
      jobs.push(job);
      return (enqueue as (...a: unknown[]) => Promise<unknown>)(name, job, ...rest);
    }) as typeof queue.enqueue;

    const me = await as(rig.admin, 'GET', '/api/auth/me');
    founderId = me.body.user.id;
    // A second organization, whose super_admin is no install administrator.
    bossOrg = 'org_iaaaaaaaaaaaaaaaaaaa';
    bossId = 'usr_iaaaaaaaaaaaaaaaaaaa';
    const now = new Date();
    await db().insert(organizations).values({ id: bossOrg, name: 'Other', createdAt: now });
    await db()
      .insert(users)
      .values({
        id: bossId,
        email: 'boss@other.example',
        name: 'Boss',
        passwordHash: await hashPassword(PASSWORD),
        createdAt: now,
      });
    await db()
      .insert(memberships)
      .values({ userId: bossId, organizationId: bossOrg, role: 'super_admin', createdAt: now });
    boss = new BrowserClient(rig.http);
    const login = await boss.request('POST', '/api/auth/login', {
      email: 'boss@other.example',
      password: PASSWORD,
    });
    assert.equal(login.status, 200);
    developer = await rig.member('developer', 'dev@example.com');
  });
  after(() => rig.close());

  test('the founding account is the install administrator; the principal says so, nobody else is one', async () => {
    const runner = (await db().select().from(runners).where(eq(runners.id, sharedId)))[0]!;
    assert.equal(runner.organizationId, null, 'the rig runner is shared');
    assert.equal((await as(rig.admin, 'GET', '/api/auth/me')).body.installAdmin, true);
    assert.equal((await as(boss, 'GET', '/api/auth/me')).body.installAdmin, false);
    assert.equal((await as(boss, 'GET', '/api/auth/me')).body.role, 'super_admin');
    assert.equal((await as(developer, 'GET', '/api/auth/me')).body.installAdmin, false);
    const admins = await as(rig.admin, 'GET', '/api/install/admins');
    assert.deepEqual(
      admins.body.admins.map((a: { email: string }) => a.email),
      ['admin@example.com'],
    );
  });

  test("another organization's super_admin gets 403 on everything shared, and nothing happens", async () => {
    const before = (await installChain()).length;
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', '/api/install/runners'],
      ['DELETE', `/api/install/runners/${sharedId}`],
      ['DELETE', `/api/admin/runners/${sharedId}`],
      ['GET', '/api/install/settings'],
      ['PUT', '/api/install/settings', { workspaceNetwork: 'always' }],
      ['GET', '/api/install/admins'],
      ['POST', '/api/install/admins', { email: 'boss@other.example' }],
      ['DELETE', `/api/install/admins/${founderId}`],
      ['GET', '/api/install/audit'],
      ['GET', '/api/install/audit/verify'],
      ['POST', '/api/install/runner-tokens', { name: 'sneaky' }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await as(boss, method, path, body);
      assert.equal(res.status, 403, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'forbidden');
      assert.ok(res.body.error.requestId);
    }
    for (const [method, path, body] of attempts.slice(0, 6)) {
      const res = await as(developer, method, path, body);
      assert.equal(res.status, 403, `developer ${method} ${path}`);
    }
    assert.equal((await rig.http('/api/install/settings')).status, 401);

    const runner = (await db().select().from(runners).where(eq(runners.id, sharedId)))[0]!;
    assert.equal(runner.revokedAt, null, 'the shared runner still stands');
    const checkIn = await rig.http('/api/runners/check-in', {
      method: 'POST',
      headers: { authorization: `Bearer ${rig.credential.credential}` },
    });
    assert.equal(checkIn.status, 200);
    assert.deepEqual(await db().select().from(installSettings), [], 'no settings were written');
    assert.deepEqual(
      await db().select().from(runnerTokens).where(eq(runnerTokens.name, 'sneaky')),
      [],
      'no registration token was made',
    );
    const flags = await db().select({ id: users.id, installAdmin: users.installAdmin }).from(users);
    assert.deepEqual(
      flags.filter((u) => u.installAdmin).map((u) => u.id),
      [founderId],
    );
    // Each refusal is in the install chain, naming who and from which organization.
    // (The developer's DELETE /api/admin/runners/:id stops at the organization role check,
    // which records it in their organization's chain.)
    const denied = (await installChain()).slice(before);
    assert.equal(denied.length, attempts.length + 5);
    assert.ok(denied.every((e) => e.action === 'access.denied' && e.outcome === 'denied'));
    const bossDenials = denied.filter((e) => e.actorId === bossId);
    assert.equal(bossDenials.length, attempts.length);
    assert.deepEqual(bossDenials[0]!.metadata, {
      method: 'GET',
      route: '/api/install/runners',
      required: 'install_admin',
      role: 'super_admin',
      organization: bossOrg,
    });
    assert.equal(
      (await orgChain(bossOrg)).filter((e) => e.action === 'runner.revoke').length,
      0,
      'nothing was revoked in their name',
    );
  });

  test('an organization admin sees that the shared runner exists and is online, not its host', async () => {
    const theirs = await as(boss, 'GET', '/api/admin/runners');
    assert.equal(theirs.status, 200);
    assert.equal(theirs.body.runners.length, 1);
    const shared = theirs.body.runners[0];
    assert.equal(shared.id, sharedId);
    assert.equal(shared.shared, true);
    assert.equal(shared.status, 'online');
    assert.equal(shared.stats, null, 'no host-wide stats for an organization admin');

    const install = await as(rig.admin, 'GET', '/api/install/runners');
    assert.equal(install.status, 200);
    assert.deepEqual(
      install.body.runners.map((r: { id: string }) => r.id),
      [sharedId],
    );
    assert.equal(install.body.runners[0].stats.driver, 'process');
    assert.ok(install.body.runners[0].stats.memory.totalMb > 0);
  });

  test('install settings: defaults, validation (422, nothing changed), updates audited in the install chain', async () => {
    const initial = await as(rig.admin, 'GET', '/api/install/settings');
    assert.equal(initial.status, 200);
    assert.deepEqual(initial.body, {
      settings: {
        workspaceNetwork: 'off',
        egressAllow: [],
        maxCpus: 8,
        maxMemoryMb: 16384,
        maxDiskMb: 51200,
        placementPolicy: DEFAULT_PLACEMENT_POLICY,
      },
      updatedAt: null,
      updatedBy: null,
    });
    for (const bad of [
      { workspaceNetwork: 'sometimes' },
      { egressAllow: ['10.0.0.0/33'] },
      { egressAllow: ['10.0.0.1/8'] },
      { egressAllow: ['169.254.169.254'] },
      { egressAllow: ['127.0.0.1:6379'] },
      { egressAllow: ['10.0.0.0/8:0'] },
      { egressAllow: ['example.com'] },
      { egressAllow: Array.from({ length: 65 }, (_, i) => `10.0.${i}.0/24`) },
      { maxCpus: 0 },
      { maxMemoryMb: 12.5 },
      { somethingElse: true },
    ]) {
      const res = await as(rig.admin, 'PUT', '/api/install/settings', bad);
      assert.equal(res.status, 422, JSON.stringify(bad));
      assert.equal(res.body.error.code, 'validation_failed');
    }
    assert.deepEqual(await db().select().from(installSettings), []);

    const before = (await installChain()).length;
    const saved = await putSettings({ egressAllow: ['10.20.0.0/16', '192.168.1.5:5432'] });
    assert.deepEqual(saved.settings.egressAllow, ['10.20.0.0/16', '192.168.1.5/32:5432']);
    assert.equal(saved.settings.workspaceNetwork, 'off', 'fields not given stay');
    assert.equal(saved.updatedBy, founderId);
    const read = await as(rig.admin, 'GET', '/api/install/settings');
    assert.deepEqual(read.body.settings, saved.settings);
    const events = (await installChain()).slice(before);
    assert.deepEqual(
      events.map((e) => [e.action, e.actorId, e.organizationId]),
      [['install.settings.update', founderId, null]],
    );
    assert.equal((events[0]!.metadata as { changed: string }).changed, 'egressAllow');
  });

  test('workspace network follows the install: refused when off, granted on request, always when always', async () => {
    await putSettings({ workspaceNetwork: 'off' });
    const count = await workspaceCount();
    const jobCount = jobs.length;
    const refused = await as(developer, 'POST', '/api/workspaces', { name: 'net', network: true });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'network_not_allowed');
    assert.equal(await workspaceCount(), count, 'nothing was created');
    assert.equal(jobs.length, jobCount, 'nothing was queued');

    // A git source no longer implies network: the clone runs on the runner host.
    const git = await as(developer, 'POST', '/api/workspaces', {
      name: 'git',
      source: { type: 'git', url: 'file:///nonexistent/repo.git' },
    });
    assert.equal(git.status, 201, JSON.stringify(git.body));
    assert.equal(git.body.network, false);
    const gitJob = jobs.find((j) => j.type === 'workspace.create' && j.workspaceId === git.body.id);
    assert.ok(gitJob && gitJob.type === 'workspace.create');
    assert.equal(gitJob.spec.network, false);
    assert.deepEqual(gitJob.spec.egressAllow, ['10.20.0.0/16', '192.168.1.5/32:5432']);

    await putSettings({ workspaceNetwork: 'on_request' });
    const asked = await as(developer, 'POST', '/api/workspaces', { name: 'asked', network: true });
    assert.equal(asked.status, 201);
    assert.equal(asked.body.network, true);
    const plain = await as(developer, 'POST', '/api/workspaces', { name: 'plain' });
    assert.equal(plain.body.network, false);

    await putSettings({ workspaceNetwork: 'always' });
    const always = await as(developer, 'POST', '/api/workspaces', { name: 'always' });
    assert.equal(always.status, 201);
    assert.equal(always.body.network, true);
    const row = (await db().select().from(workspaces).where(eq(workspaces.id, always.body.id)))[0]!;
    assert.equal(row.network, true);

    // Starting again hands the runner the install's list as it is now.
    await putSettings({ egressAllow: ['172.16.0.0/12'], workspaceNetwork: 'off' });
    const start = await as(developer, 'POST', `/api/workspaces/${plain.body.id}/start`, {});
    assert.equal(start.status, 202);
    const startJob = jobs.findLast((j) => j.type === 'workspace.start' && j.workspaceId === plain.body.id);
    assert.ok(startJob && startJob.type === 'workspace.start');
    assert.deepEqual(startJob.egressAllow, ['172.16.0.0/12']);

    const policy = await as(developer, 'GET', '/api/workspaces/policy');
    assert.deepEqual(policy.body, {
      workspaceNetwork: 'off',
      maxCpus: 8,
      maxMemoryMb: 16384,
      maxDiskMb: 51200,
    });
  });

  test('resources past the install maxima are a 422 resource_limit, and nothing is created', async () => {
    const count = await workspaceCount();
    const jobCount = jobs.length;
    for (const resources of [
      { cpus: 64, memoryMb: 262144 },
      { cpus: 9, memoryMb: 1024 },
      { cpus: 1, memoryMb: 16385 },
      { cpus: 1, memoryMb: 1024, diskMb: 51201 },
    ]) {
      const res = await as(developer, 'POST', '/api/workspaces', { name: 'big', resources });
      assert.equal(res.status, 422, JSON.stringify(resources));
      assert.equal(res.body.error.code, 'resource_limit');
    }
    assert.equal(await workspaceCount(), count);
    assert.equal(jobs.length, jobCount);

    await putSettings({ maxCpus: 2, maxMemoryMb: 512 });
    const over = await as(developer, 'POST', '/api/workspaces', {
      name: 'over',
      resources: { cpus: 2, memoryMb: 1024 },
    });
    assert.equal(over.status, 422);
    assert.match(over.body.error.message, /memoryMb 1024 > 512/);
    const within = await as(developer, 'POST', '/api/workspaces', {
      name: 'within',
      resources: { cpus: 2, memoryMb: 512 },
    });
    assert.equal(within.status, 201, JSON.stringify(within.body));
    // Asking for nothing in particular (the web form) gets the defaults within the maxima.
    await putSettings({ maxCpus: 0.5, maxMemoryMb: 512 });
    const plain = await as(developer, 'POST', '/api/workspaces', { name: 'plain-small' });
    assert.equal(plain.status, 201, JSON.stringify(plain.body));
    assert.deepEqual(plain.body.resources, { cpus: 0.5, memoryMb: 512 });
    await putSettings({ maxCpus: 8, maxMemoryMb: 16384 });
    const roomy = await as(developer, 'POST', '/api/workspaces', { name: 'plain-roomy' });
    assert.deepEqual(roomy.body.resources, { cpus: 1, memoryMb: 1024 });
  });

  test('install administrators grant and revoke it, never leaving none', async () => {
    const before = (await installChain()).length;
    assert.equal(
      (await as(rig.admin, 'POST', '/api/install/admins', { email: 'nobody@x.example' })).status,
      404,
    );
    assert.equal(
      (await as(rig.admin, 'POST', '/api/install/admins', { email: 'not an e-mail' })).status,
      422,
    );
    const granted = await as(rig.admin, 'POST', '/api/install/admins', { email: 'Boss@Other.example' });
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    assert.equal(granted.body.admin.id, bossId);
    assert.equal(
      (await as(rig.admin, 'POST', '/api/install/admins', { email: 'boss@other.example' })).status,
      200,
    );
    // At once, though the boss's session was cached as no install administrator.
    assert.equal((await as(boss, 'GET', '/api/auth/me')).body.installAdmin, true);
    assert.equal((await as(boss, 'GET', '/api/install/settings')).status, 200);
    const sharedStats = async (client: BrowserClient) =>
      (await as(client, 'GET', '/api/admin/runners')).body.runners.find(
        (r: { id: string }) => r.id === sharedId,
      ).stats;
    assert.notEqual(await sharedStats(boss), null, "the principal knows at once: the host's stats show");

    const removed = await as(boss, 'DELETE', `/api/install/admins/${founderId}`);
    assert.equal(removed.status, 204);
    assert.equal((await as(rig.admin, 'GET', '/api/install/settings')).status, 403);
    assert.equal((await as(rig.admin, 'GET', '/api/auth/me')).body.installAdmin, false);

    const last = await as(boss, 'DELETE', `/api/install/admins/${bossId}`);
    assert.equal(last.status, 409);
    assert.equal(last.body.error.code, 'last_install_admin');
    assert.equal((await db().select().from(users).where(eq(users.id, bossId)))[0]!.installAdmin, true);
    assert.equal((await as(boss, 'DELETE', `/api/install/admins/${founderId}`)).status, 404);
    assert.equal((await as(boss, 'DELETE', '/api/install/admins/garbage')).status, 404);

    assert.equal((await as(boss, 'POST', '/api/install/admins', { email: 'admin@example.com' })).status, 201);
    assert.equal((await as(rig.admin, 'DELETE', `/api/install/admins/${bossId}`)).status, 204);
    assert.equal((await as(boss, 'GET', '/api/install/settings')).status, 403);
    assert.equal(await sharedStats(boss), null);

    const events = (await installChain()).slice(before).filter((e) => e.outcome === 'success');
    assert.deepEqual(
      events.map((e) => [e.action, e.actorId, e.targetId]),
      [
        ['install.admin.grant', founderId, bossId],
        ['install.admin.revoke', bossId, founderId],
        ['install.admin.grant', bossId, founderId],
        ['install.admin.revoke', founderId, bossId],
      ],
    );
  });

  test('an install administrator makes registration tokens for shared runners; an organization admin only for its own', async () => {
    const register = async (token: string, name: string) => {
      const res = await rig.http('/api/runners/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token,
          name,
          capacity: { workspaces: 1, cpus: 1, memoryMb: 512 },
          drivers: ['process'],
        }),
      });
      assert.equal(res.status, 201);
      return ((await res.json()) as { runnerId: string }).runnerId;
    };
    const made = await as(rig.admin, 'POST', '/api/install/runner-tokens', { name: 'gpu-host', maxUses: 1 });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.match(made.body.token, /^rgt_/);
    const sharedNew = await register(made.body.token, 'gpu-host');
    const row = (await db().select().from(runners).where(eq(runners.id, sharedNew)))[0]!;
    assert.equal(row.organizationId, null, 'a runner registered with an install token is shared');
    const theirs = await as(boss, 'GET', '/api/admin/runners');
    const seen = (theirs.body.runners as Array<{ id: string; shared: boolean }>).find(
      (r) => r.id === sharedNew,
    );
    assert.equal(seen?.shared, true, 'every organization sees it as shared');
    const events = (await installChain()).filter((e) => e.targetId === made.body.runnerToken.id);
    assert.deepEqual(
      events.map((e) => [e.action, e.organizationId, (e.metadata as { shared?: boolean }).shared]),
      [['runner_token.create', null, true]],
    );

    // The same person acting as an organization admin makes a token of that organization.
    const orgToken = await as(rig.admin, 'POST', '/api/admin/runner-tokens', { name: 'org-host' });
    const orgRunner = await register(orgToken.body.token, 'org-host');
    const orgRow = (await db().select().from(runners).where(eq(runners.id, orgRunner)))[0]!;
    assert.equal(orgRow.organizationId, rig.orgId);
    for (const id of [sharedNew, orgRunner])
      await db().update(runners).set({ revokedAt: new Date() }).where(eq(runners.id, id));
  });

  test('only an install administrator revokes the shared runner; it lands in the install chain, which verifies', async () => {
    // An organization's own runner is not the install's to revoke through the install routes.
    const token = await as(boss, 'POST', '/api/admin/runner-tokens', { name: 'own' });
    const own = await rig.http('/api/runners/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: token.body.token,
        name: 'own',
        capacity: { workspaces: 1, cpus: 1, memoryMb: 512 },
        drivers: ['process'],
      }),
    });
    const ownId = ((await own.json()) as { runnerId: string }).runnerId;
    assert.equal((await as(rig.admin, 'DELETE', `/api/install/runners/${ownId}`)).status, 404);
    assert.equal((await db().select().from(runners).where(eq(runners.id, ownId)))[0]!.revokedAt, null);

    const founderOrg = rig.orgId;
    const res = await as(rig.admin, 'DELETE', `/api/install/runners/${sharedId}`);
    assert.equal(res.status, 204);
    assert.notEqual((await db().select().from(runners).where(eq(runners.id, sharedId)))[0]!.revokedAt, null);
    assert.equal((await as(rig.admin, 'DELETE', `/api/install/runners/${sharedId}`)).status, 404);
    const revocations = (await installChain()).filter((e) => e.action === 'runner.revoke');
    assert.deepEqual(
      revocations.map((e) => [e.actorId, e.targetId, e.organizationId]),
      [[founderId, sharedId, null]],
    );
    for (const org of [founderOrg, bossOrg]) {
      assert.equal((await orgChain(org)).filter((e) => e.action === 'runner.revoke').length, 0);
    }
    const theirs = await as(boss, 'GET', '/api/admin/runners');
    assert.equal(theirs.body.runners.find((r: { id: string }) => r.id === sharedId).status, 'revoked');

    const list = await as(rig.admin, 'GET', '/api/install/audit?limit=1000');
    assert.equal(list.status, 200);
    assert.ok(list.body.events.some((e: { action: string }) => e.action === 'install.settings.update'));
    const verify = await as(rig.admin, 'GET', '/api/install/audit/verify');
    assert.equal(verify.status, 200);
    assert.equal(verify.body.ok, true);
    assert.equal(verify.body.checked, (await installChain()).length - 1);
    // The per-organization routes still read only their own chain.
    const orgList = await as(rig.admin, 'GET', '/api/admin/audit?limit=1000');
    assert.ok(orgList.body.events.every((e: { action: string }) => e.action !== 'install.settings.update'));

    // A changed row in the install chain is found.
    await db()
      .update(auditEvents)
      .set({ targetId: 'rnr_forgedforgedforged' })
      .where(and(eq(auditEvents.chain, INSTALL_CHAIN), eq(auditEvents.action, 'runner.revoke')));
    const broken = await as(rig.admin, 'GET', '/api/install/audit/verify');
    assert.equal(broken.body.ok, false);
  });
});

describe('install settings and administrators on PostgreSQL', () => {
  test('the founder administers the install: settings saved as jsonb, the last one stays, the chain verifies', async () => {
    const t = await createTestApp({ database: 'postgres' });
    try {
      const founder = new BrowserClient(t.fetch);
      const signup = await founder.request('POST', '/api/auth/signup', {
        email: 'root@example.com',
        password: PASSWORD,
        name: 'Root',
      });
      assert.equal(signup.status, 201);
      assert.equal(signup.body.installAdmin, true);
      const id = signup.body.user.id;
      const put = await founder.request(
        'PUT',
        '/api/install/settings',
        { workspaceNetwork: 'on_request', egressAllow: ['10.1.0.0/16:443'], maxDiskMb: 1024 },
        { bearer: true },
      );
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const stored = await t.services.db.select().from(installSettings);
      assert.equal(stored.length, 1);
      assert.deepEqual(stored[0]!.settings, put.body.settings);
      const big = await founder.request(
        'POST',
        '/api/workspaces',
        { name: 'big', resources: { cpus: 1, memoryMb: 1024, diskMb: 2048 } },
        { bearer: true },
      );
      assert.equal(big.status, 422);
      assert.equal(big.body.error.code, 'resource_limit');
      const last = await founder.request('DELETE', `/api/install/admins/${id}`, undefined, { bearer: true });
      assert.equal(last.status, 409);
      const verify = await founder.request('GET', '/api/install/audit/verify', undefined, { bearer: true });
      assert.deepEqual(verify.body, { ok: true, checked: 1 });
    } finally {
      await t.close();
    }
  });
});
