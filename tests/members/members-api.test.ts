/*
 * /api/admin/members and the invitation routes on the real app with PostgreSQL and Redis: the
 * list and its filters, role changes within the caller's rank, the last super_admin kept under
 * concurrent demotions, disabling (an open session stops at its next request), removal with
 * the workspaces handed over or deleted, invitations in every state and in bulk, and refusals
 * (another organization's ids 404, a developer 403, bad input 4xx with the error body).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bullPrefixOf, runnerKeys } from '@keel/contract/keys';
import {
  auditEvents,
  invitations,
  memberships,
  organizations,
  personalAccessTokens,
  runners,
  users,
  workspaces,
} from '@keel/drizzle/schema';
import { Queue } from 'bullmq';
import { and, eq, isNull } from 'drizzle-orm';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
type Reply = Awaited<ReturnType<BrowserClient['request']>>;

function refused(res: Reply, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code);
  assert.ok(res.body.error.message.length > 0);
  assert.match(res.body.error.requestId, /^req_/);
}

describe('members API (postgres)', () => {
  let t: TestApp;
  let orgId: string;
  const people = new Map<string, { client: BrowserClient; id: string }>();
  const as = (name: string) => people.get(name)!.client;
  const idOf = (name: string) => people.get(name)!.id;
  const call = (who: string, method: string, path: string, body?: unknown) =>
    as(who).request(method, path, body, { bearer: true });

  async function join(name: string, role: string): Promise<void> {
    const email = `${name}@example.com`;
    const inv = await call('sam', 'POST', `/api/orgs/${orgId}/invitations`, { email, role });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    const client = new BrowserClient(t.fetch);
    const res = await client.request('POST', '/api/auth/signup', {
      email,
      password: PASSWORD,
      name: name[0]!.toUpperCase() + name.slice(1),
      inviteToken: inv.body.token,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    people.set(name, { client, id: res.body.user.id });
  }

  async function signIn(name: string): Promise<Reply> {
    const client = new BrowserClient(t.fetch);
    const res = await client.request('POST', '/api/auth/login', {
      email: `${name}@example.com`,
      password: PASSWORD,
    });
    if (res.status === 200) people.set(name, { client, id: idOf(name) });
    return res;
  }

  async function setRole(name: string, role: string): Promise<void> {
    await t.services.db
      .update(memberships)
      .set({ role: role as 'admin', disabledAt: null })
      .where(and(eq(memberships.userId, idOf(name)), eq(memberships.organizationId, orgId)));
  }

  let otherUser: string;

  before(async () => {
    t = await createTestApp({ database: 'postgres' });
    const sam = new BrowserClient(t.fetch);
    const signup = await sam.request('POST', '/api/auth/signup', {
      email: 'sam@example.com',
      password: PASSWORD,
      name: 'Sam',
      organization: 'Acme',
    });
    assert.equal(signup.status, 201);
    orgId = signup.body.organization.id;
    people.set('sam', { client: sam, id: signup.body.user.id });
    await join('sue', 'super_admin');
    await join('ada', 'admin');
    await join('dev', 'developer');
    await join('vic', 'viewer');
    // Another organization, with its own member, straight in the database.
    const now = new Date();
    otherUser = 'usr_zzzzzzzzzzzzzzzzzzzz';
    await t.services.db
      .insert(organizations)
      .values({ id: 'org_zzzzzzzzzzzzzzzzzzzz', name: 'Other', createdAt: now });
    await t.services.db.insert(users).values({
      id: otherUser,
      email: 'boss@other.example',
      name: 'Boss',
      passwordHash: await hashPassword(PASSWORD),
      createdAt: now,
    });
    await t.services.db.insert(memberships).values({
      userId: otherUser,
      organizationId: 'org_zzzzzzzzzzzzzzzzzzzz',
      role: 'admin',
      createdAt: now,
    });
  });
  after(() => t.close());

  test('the list: roles, source, last sign-in, filters and pages; only for members:manage', async () => {
    const all = await call('ada', 'GET', '/api/admin/members');
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(
      all.body.members.map((m: { email: string }) => m.email),
      ['ada@example.com', 'dev@example.com', 'sam@example.com', 'sue@example.com', 'vic@example.com'],
      'only this organization, by address',
    );
    const dev = all.body.members.find((m: { userId: string }) => m.userId === idOf('dev'));
    assert.equal(dev.role, 'developer');
    assert.equal(dev.source, 'password');
    assert.equal(dev.disabledAt, null);
    assert.ok(dev.createdAt);
    assert.ok('lastSignInAt' in dev);

    const admins = await call('ada', 'GET', '/api/admin/members?role=super_admin');
    assert.deepEqual(
      admins.body.members.map((m: { email: string }) => m.email),
      ['sam@example.com', 'sue@example.com'],
    );
    const text = await call('ada', 'GET', '/api/admin/members?q=VI');
    assert.deepEqual(
      text.body.members.map((m: { email: string }) => m.email),
      ['vic@example.com'],
    );
    const wild = await call('ada', 'GET', '/api/admin/members?q=%25');
    assert.deepEqual(wild.body.members, [], '% is searched as text, not a wildcard');

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Reply = await call(
        'ada',
        'GET',
        `/api/admin/members?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(page.status, 200);
      assert.ok(page.body.members.length <= 2);
      seen.push(...page.body.members.map((m: { email: string }) => m.email));
      cursor = page.body.next;
    } while (cursor);
    assert.deepEqual(
      seen,
      all.body.members.map((m: { email: string }) => m.email),
    );

    refused(await call('dev', 'GET', '/api/admin/members'), 403, 'forbidden');
    refused(await call('vic', 'GET', '/api/admin/members'), 403, 'forbidden');
    refused(await call('ada', 'GET', '/api/admin/members?limit=0'), 422, 'validation_failed');
    refused(await call('ada', 'GET', '/api/admin/members?limit=100000'), 422, 'validation_failed');
    refused(await call('ada', 'GET', '/api/admin/members?role=owner'), 422, 'validation_failed');
    refused(await call('ada', 'GET', '/api/admin/members?q=a%00b'), 422, 'validation_failed');
    refused(await call('ada', 'GET', '/api/admin/members?cursor=%%%'), 422, 'validation_failed');
    refused(await call('ada', 'GET', '/api/admin/members?cursor=AA'), 422, 'validation_failed');
    refused(await call('ada', 'GET', '/api/admin/members?extra=1'), 422, 'validation_failed');
    const anonymous = await new BrowserClient(t.fetch).request('GET', '/api/admin/members');
    refused(anonymous, 401, 'unauthorized');
  });

  test('role changes: at most the caller’s own rank; super_admins are for super_admins', async () => {
    const path = (name: string) => `/api/admin/members/${idOf(name)}`;
    const up = await call('ada', 'PATCH', path('vic'), { role: 'developer' });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.member.role, 'developer');
    refused(await call('ada', 'PATCH', path('vic'), { role: 'super_admin' }), 403, 'forbidden');
    refused(await call('ada', 'PATCH', path('sue'), { role: 'developer' }), 403, 'forbidden');
    refused(await call('dev', 'PATCH', path('vic'), { role: 'viewer' }), 403, 'forbidden');
    refused(
      await call('ada', 'PATCH', `/api/admin/members/${otherUser}`, { role: 'viewer' }),
      404,
      'not_found',
    );
    refused(await call('ada', 'PATCH', '/api/admin/members/usr_nope', { role: 'viewer' }), 404, 'not_found');
    refused(await call('ada', 'PATCH', '/api/admin/members/%00', { role: 'viewer' }), 404, 'not_found');
    refused(await call('ada', 'PATCH', path('vic'), { role: 'owner' }), 422, 'validation_failed');
    refused(await call('ada', 'PATCH', path('vic'), { role: 'viewer', x: 1 }), 422, 'validation_failed');
    const broken = await as('ada').request('PATCH', path('vic'), undefined, {
      bearer: true,
      headers: { 'content-type': 'application/json' },
    });
    refused(broken, 400, 'invalid_json');

    // A role change acts on the person's next request, whatever the session cache held.
    assert.equal((await call('vic', 'GET', '/api/workspaces')).status, 200);
    const made = await call('sam', 'PATCH', path('vic'), { role: 'admin' });
    assert.equal(made.status, 200);
    assert.equal((await call('vic', 'GET', '/api/admin/members')).status, 200, 'promoted at once');
    assert.equal((await call('sam', 'PATCH', path('vic'), { role: 'viewer' })).status, 200);
    refused(await call('vic', 'GET', '/api/admin/members'), 403, 'forbidden');

    const trail = await t.services.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'member.role_change'), eq(auditEvents.targetId, idOf('vic'))));
    assert.equal(trail.length, 3);
    assert.deepEqual(trail[0]!.metadata, { from: 'viewer', to: 'developer' });
  });

  test('the last super_admin cannot be demoted, disabled or removed, even by two demotions at once', async () => {
    for (let round = 0; round < 3; round++) {
      await setRole('sam', 'super_admin');
      await setRole('sue', 'super_admin');
      // Each demotes the other at the same moment: one must be refused.
      const [a, b] = await Promise.all([
        call('sam', 'PATCH', `/api/admin/members/${idOf('sue')}`, { role: 'admin' }),
        call('sue', 'PATCH', `/api/admin/members/${idOf('sam')}`, { role: 'admin' }),
      ]);
      const statuses = [a.status, b.status].sort();
      // The refused one is 409 when both were in flight (the row locks order them), or 403 when
      // its caller had already been demoted by the time it was authenticated.
      assert.equal(statuses[0], 200, JSON.stringify([a.body, b.body]));
      assert.ok(statuses[1] === 409 || statuses[1] === 403, JSON.stringify([a.body, b.body]));
      const refusal = a.status === 200 ? b : a;
      if (refusal.status === 409) {
        refused(refusal, 409, 'conflict');
        assert.match(refusal.body.error.message, /last super_admin/);
      } else refused(refusal, 403, 'forbidden');
      const left = await t.services.db
        .select()
        .from(memberships)
        .where(and(eq(memberships.organizationId, orgId), eq(memberships.role, 'super_admin')));
      assert.equal(left.length, 1, 'exactly one super_admin remains');
    }
    await setRole('sam', 'super_admin');
    await setRole('sue', 'admin');
    // Sue (now an admin) may not touch Sam at all; Sam may not demote himself, the last one.
    refused(await call('sue', 'POST', `/api/admin/members/${idOf('sam')}/disable`), 403, 'forbidden');
    const self = await call('sam', 'PATCH', `/api/admin/members/${idOf('sam')}`, { role: 'admin' });
    refused(self, 409, 'conflict');
    // Two super_admins disabling each other at once: one stays.
    await setRole('sue', 'super_admin');
    const [x, y] = await Promise.all([
      call('sam', 'POST', `/api/admin/members/${idOf('sue')}/disable`),
      call('sue', 'POST', `/api/admin/members/${idOf('sam')}/disable`),
    ]);
    assert.ok([x.status, y.status].includes(200), JSON.stringify([x.body, y.body]));
    const enabled = await t.services.db
      .select()
      .from(memberships)
      .where(
        and(
          eq(memberships.organizationId, orgId),
          eq(memberships.role, 'super_admin'),
          isNull(memberships.disabledAt),
        ),
      );
    assert.equal(enabled.length, 1);
    // Put both back, signed in again.
    await setRole('sam', 'super_admin');
    await setRole('sue', 'super_admin');
    assert.equal((await signIn('sam')).status, 200);
    assert.equal((await signIn('sue')).status, 200);
  });

  test('a token already confirmed (cached) follows a demotion and a disable at once', async () => {
    const bearer = (token: string, path: string) =>
      t.fetch(path, { headers: { authorization: `Bearer ${token}` } });
    const roleOfVic = (role: string) =>
      call('sam', 'PATCH', `/api/admin/members/${idOf('vic')}`, { role }).then((r) => r.status);
    // A scope the role loses on demotion, and one it keeps.
    assert.equal(await roleOfVic('admin'), 200);
    const made = await call('vic', 'POST', '/api/account/tokens', {
      name: 'cached',
      permissions: ['members:manage', 'workspaces:read'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const token = made.body.token as string;
    assert.equal((await bearer(token, '/api/admin/members')).status, 200, 'confirmed and now cached');
    assert.equal(await roleOfVic('viewer'), 200);
    assert.equal((await bearer(token, '/api/admin/members')).status, 403, 'the demotion acts at once');
    assert.equal((await bearer(token, '/api/workspaces')).status, 200);
    assert.equal((await call('sam', 'POST', `/api/admin/members/${idOf('vic')}/disable`)).status, 200);
    assert.equal((await bearer(token, '/api/workspaces')).status, 401, 'the disable acts at once');
    assert.equal((await call('sam', 'POST', `/api/admin/members/${idOf('vic')}/enable`)).status, 200);
    assert.equal((await bearer(token, '/api/workspaces')).status, 401, 'an ended token stays ended');
    assert.equal((await signIn('vic')).status, 200);
  });

  test('disabling ends sessions and tokens at once; enabling lets them sign in again', async () => {
    const now = new Date();
    await t.services.db.insert(personalAccessTokens).values({
      id: 'pat_dddddddddddddddddddd',
      userId: idOf('dev'),
      organizationId: orgId,
      name: 'script',
      tokenHash: 'x'.repeat(64),
      prefix: 'kpat_dddd',
      permissions: ['workspaces:read'],
      createdAt: now,
    });
    const devClient = as('dev');
    assert.equal((await call('dev', 'GET', '/api/workspaces')).status, 200, 'confirmed and cached');
    refused(await call('ada', 'POST', `/api/admin/members/${otherUser}/disable`), 404, 'not_found');
    refused(await call('dev', 'POST', `/api/admin/members/${idOf('vic')}/disable`), 403, 'forbidden');
    refused(await call('ada', 'POST', `/api/admin/members/${idOf('ada')}/disable`), 409, 'conflict');

    const off = await call('ada', 'POST', `/api/admin/members/${idOf('dev')}/disable`);
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.ok(off.body.member.disabledAt);
    refused(
      await devClient.request('GET', '/api/workspaces', undefined, { bearer: true }),
      401,
      'invalid_token',
    );
    refused(await devClient.request('GET', '/api/workspaces'), 401, 'invalid_token');
    refused(await devClient.request('POST', '/api/auth/refresh', {}), 401, 'invalid_token');
    refused(await signIn('dev'), 401, 'invalid_credentials');
    const [pat] = await t.services.db
      .select()
      .from(personalAccessTokens)
      .where(eq(personalAccessTokens.id, 'pat_dddddddddddddddddddd'));
    assert.ok(pat!.revokedAt, 'the access token is revoked');
    const again = await call('ada', 'POST', `/api/admin/members/${idOf('dev')}/disable`);
    assert.equal(again.status, 200, 'disabling twice is the same');

    const on = await call('ada', 'POST', `/api/admin/members/${idOf('dev')}/enable`);
    assert.equal(on.status, 200);
    assert.equal(on.body.member.disabledAt, null);
    assert.equal((await signIn('dev')).status, 200);
    assert.equal((await call('dev', 'GET', '/api/workspaces')).status, 200);
    const actions = await t.services.db
      .select({ action: auditEvents.action })
      .from(auditEvents)
      .where(eq(auditEvents.targetId, idOf('dev')));
    assert.ok(actions.some((a) => a.action === 'member.disable'));
    assert.ok(actions.some((a) => a.action === 'member.enable'));
  });

  async function ownWorkspace(
    owner: string,
    name: string,
    runnerId?: string,
    status = 'stopped',
  ): Promise<string> {
    const id = `ws_${name.padEnd(20, 'a')}`;
    await t.services.db.insert(workspaces).values({
      id,
      organizationId: orgId,
      ownerId: idOf(owner),
      name,
      source: { type: 'empty' },
      resources: { cpus: 1, memoryMb: 512 },
      status,
      ...(runnerId ? { runnerId } : {}),
    });
    return id;
  }

  test('removal sends the lifecycle jobs: running workspaces handed over are stopped, deleted ones removed', async () => {
    const runnerId = 'rnr_jjjjjjjjjjjjjjjjjjjj';
    await t.services.db.insert(runners).values({
      id: runnerId,
      organizationId: orgId,
      name: 'r1',
      labels: {},
      drivers: ['process'],
      capacity: { workspaces: 10, cpus: 8, memoryMb: 8192 },
      version: 'test',
      credentialHash: 'c'.repeat(64),
    });
    const prefix = t.services.config.redisPrefix;
    // A live heartbeat: the runner is online, so jobs are queued for it.
    await t.services.redis().set(runnerKeys(prefix, runnerId).heartbeat, '{}', 'EX', 60);
    const connection = t.services.redis().duplicate();
    const queue = new Queue(`runner.${runnerId}`, {
      connection,
      prefix: bullPrefixOf(prefix),
    });
    try {
      await join('ron', 'developer');
      await join('rex', 'developer');
      const running = await ownWorkspace('ron', 'ronrun', runnerId, 'running');
      const stopped = await ownWorkspace('ron', 'ronstop', runnerId, 'stopped');
      const doomed = await ownWorkspace('rex', 'rexrun', runnerId, 'running');
      const handed = await call('ada', 'DELETE', `/api/admin/members/${idOf('ron')}`, {
        workspaces: 'transfer',
        transferTo: idOf('sam'),
      });
      assert.equal(handed.status, 200, JSON.stringify(handed.body));
      const removed = await call('ada', 'DELETE', `/api/admin/members/${idOf('rex')}`, {
        workspaces: 'delete',
      });
      assert.equal(removed.status, 200);
      const jobs = (await queue.getJobs(['waiting'])).map((j) => [j.data.type, j.data.workspaceId]);
      assert.deepEqual(jobs.sort(), [
        ['workspace.delete', doomed],
        ['workspace.stop', running],
      ]);
      const [row] = await t.services.db.select().from(workspaces).where(eq(workspaces.id, running));
      assert.equal(row!.status, 'stopping');
      assert.equal(row!.ownerId, idOf('sam'));
      const [still] = await t.services.db.select().from(workspaces).where(eq(workspaces.id, stopped));
      assert.equal(still!.status, 'stopped', 'a stopped workspace is only handed over');
      // The new owner finds them in their list at once (the cached list was dropped).
      const list = await call('sam', 'GET', '/api/workspaces');
      const ids = list.body.workspaces.map((w: { id: string }) => w.id);
      assert.ok(ids.includes(running) && ids.includes(stopped), JSON.stringify(ids));
      assert.equal(ids.includes(doomed), false);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      // A connection handed to BullMQ stays the caller's to close.
      connection.disconnect();
    }
  });

  test('removal: sessions end; workspaces go to an admin, or are deleted', async () => {
    await join('leo', 'developer');
    await join('max', 'developer');
    const leoWs = [await ownWorkspace('leo', 'leoone'), await ownWorkspace('leo', 'leotwo')];
    const maxWs = await ownWorkspace('max', 'maxone');
    const path = (name: string) => `/api/admin/members/${idOf(name)}`;

    refused(await call('ada', 'DELETE', path('leo'), { workspaces: 'transfer' }), 422, 'validation_failed');
    refused(
      await call('ada', 'DELETE', path('leo'), { workspaces: 'delete', transferTo: idOf('ada') }),
      422,
      'validation_failed',
    );
    refused(await call('ada', 'DELETE', path('leo'), { workspaces: 'keep' }), 422, 'validation_failed');
    refused(
      await call('ada', 'DELETE', path('leo'), { workspaces: 'transfer', transferTo: idOf('dev') }),
      404,
      'not_found',
    );
    refused(
      await call('ada', 'DELETE', path('leo'), { workspaces: 'transfer', transferTo: otherUser }),
      404,
      'not_found',
    );
    refused(
      await call('ada', 'DELETE', `/api/admin/members/${otherUser}`, { workspaces: 'delete' }),
      404,
      'not_found',
    );
    refused(await call('dev', 'DELETE', path('leo'), { workspaces: 'delete' }), 403, 'forbidden');
    refused(await call('ada', 'DELETE', path('sam'), { workspaces: 'delete' }), 403, 'forbidden');

    assert.equal((await call('leo', 'GET', '/api/workspaces')).status, 200);
    const gone = await call('ada', 'DELETE', path('leo'), {
      workspaces: 'transfer',
      transferTo: idOf('ada'),
    });
    assert.equal(gone.status, 200, JSON.stringify(gone.body));
    assert.deepEqual(gone.body.workspaces, { transferred: 2, deleted: 0, transferTo: idOf('ada') });
    refused(await call('leo', 'GET', '/api/workspaces'), 401, 'invalid_token');
    refused(await signIn('leo'), 401, 'invalid_credentials');
    for (const id of leoWs) {
      const [row] = await t.services.db.select().from(workspaces).where(eq(workspaces.id, id));
      assert.equal(row!.ownerId, idOf('ada'));
      assert.equal(row!.deletedAt, null);
    }
    refused(await call('ada', 'DELETE', path('leo'), { workspaces: 'delete' }), 404, 'not_found');

    const deleted = await call('ada', 'DELETE', path('max'), { workspaces: 'delete' });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body.workspaces, { transferred: 0, deleted: 1, transferTo: null });
    const [row] = await t.services.db.select().from(workspaces).where(eq(workspaces.id, maxWs));
    assert.ok(row!.deletedAt);
    assert.equal(row!.status, 'deleting');
    const listed = await call('ada', 'GET', '/api/admin/members');
    assert.equal(
      listed.body.members.some((m: { email: string }) => m.email === 'max@example.com'),
      false,
    );
    const [audit] = await t.services.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'member.remove'), eq(auditEvents.targetId, idOf('leo'))));
    assert.equal((audit!.metadata as Record<string, unknown>).workspaceCount, 2);
  });

  test('a removed person invited back signs in with the invitation and is a member again', async () => {
    // leo was removed above; the account stays (its e-mail is taken), the membership is gone.
    const inv = await call('ada', 'POST', `/api/orgs/${orgId}/invitations`, {
      email: 'leo@example.com',
      role: 'viewer',
    });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    const token = inv.body.token as string;
    const leo = new BrowserClient(t.fetch);
    const signup = await leo.request('POST', '/api/auth/signup', {
      email: 'leo@example.com',
      password: PASSWORD,
      name: 'Leo',
      inviteToken: token,
    });
    refused(signup, 409, 'email_taken');
    assert.match(signup.body.error.message, /sign in with it to accept the invitation/);
    const login = (body: Record<string, unknown>) => leo.request('POST', '/api/auth/login', body);
    // A wrong password spends nothing and says nothing about the invitation.
    refused(
      await login({ email: 'leo@example.com', password: 'not the password', inviteToken: token }),
      401,
      'invalid_credentials',
    );
    refused(
      await login({ email: 'leo@example.com', password: PASSWORD, inviteToken: 'x'.repeat(40) }),
      403,
      'invitation_invalid',
    );
    // Someone else's account cannot take an invitation made for leo.
    refused(
      await new BrowserClient(t.fetch).request('POST', '/api/auth/login', {
        email: 'dev@example.com',
        password: PASSWORD,
        inviteToken: token,
      }),
      403,
      'invitation_invalid',
    );
    const back = await login({ email: 'leo@example.com', password: PASSWORD, inviteToken: token });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    const me = await leo.request('GET', '/api/auth/me', undefined, { bearer: true });
    assert.equal(me.body.organization.id, orgId);
    assert.equal(me.body.role, 'viewer');
    refused(
      await login({ email: 'leo@example.com', password: PASSWORD, inviteToken: token }),
      403,
      'invitation_invalid',
    );
    const [accepted] = await t.services.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'invitation.accept'), eq(auditEvents.actorId, idOf('leo'))));
    assert.ok(accepted, 'the acceptance is in the audit trail');
  });

  test('invitations: every state listed, revoke, bulk with each address checked', async () => {
    const open = await call('ada', 'POST', `/api/orgs/${orgId}/invitations`, { email: 'new@example.com' });
    assert.equal(open.status, 201);
    assert.equal(open.body.link, `http://keel.test/sign-up?invite=${open.body.token}`);
    assert.equal(open.body.delivery.status, 'off');
    assert.equal(open.body.invitation.status, 'pending');
    const gone = await call('ada', 'POST', `/api/orgs/${orgId}/invitations`, {});
    assert.equal(gone.body.delivery, undefined, 'an invitation without an address is not mailed');
    assert.equal(
      (await call('ada', 'DELETE', `/api/orgs/${orgId}/invitations/${gone.body.invitation.id}`)).status,
      204,
    );
    const old = await call('ada', 'POST', `/api/orgs/${orgId}/invitations`, { email: 'old@example.com' });
    await t.services.db
      .update(invitations)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(invitations.id, old.body.invitation.id));

    const list = await call('ada', 'GET', `/api/orgs/${orgId}/invitations`);
    assert.equal(list.status, 200);
    const status = (id: string) => list.body.invitations.find((i: { id: string }) => i.id === id)?.status;
    assert.equal(status(open.body.invitation.id), 'pending');
    assert.equal(status(gone.body.invitation.id), 'revoked');
    assert.equal(status(old.body.invitation.id), 'expired');
    assert.ok(list.body.invitations.some((i: { status: string }) => i.status === 'accepted'));
    assert.equal(JSON.stringify(list.body).includes(open.body.token), false);

    const bulk = await call('ada', 'POST', `/api/orgs/${orgId}/invitations/bulk`, {
      emails: [
        'one@example.com',
        'Two@Example.com',
        'one@example.com',
        'not an address',
        'dev@example.com',
        'new@example.com',
        'a\u0000b@x.y',
      ],
      role: 'viewer',
    });
    assert.equal(bulk.status, 201, JSON.stringify(bulk.body));
    assert.deepEqual(
      bulk.body.invited.map((i: { email: string }) => i.email),
      ['one@example.com', 'two@example.com'],
    );
    assert.deepEqual(
      bulk.body.skipped.map((s: { email: string; reason: string }) => [s.email, s.reason]),
      [
        ['one@example.com', 'duplicate'],
        ['not an address', 'invalid'],
        ['a\u0000b@x.y', 'invalid'],
        ['dev@example.com', 'member'],
        ['new@example.com', 'invited'],
      ],
    );
    assert.equal(bulk.body.email.status, 'off');
    for (const i of bulk.body.invited) {
      assert.match(i.link, /^http:\/\/keel\.test\/sign-up\?invite=inv_/);
      assert.equal(i.invitation.role, 'viewer');
    }
    // The link works: the invitee signs up with it.
    const token = new URL(bulk.body.invited[0].link).searchParams.get('invite');
    const one = await new BrowserClient(t.fetch).request('POST', '/api/auth/signup', {
      email: 'one@example.com',
      password: PASSWORD,
      name: 'One',
      inviteToken: token,
    });
    assert.equal(one.status, 201, JSON.stringify(one.body));
    assert.equal(one.body.role, 'viewer');

    refused(
      await call('ada', 'POST', `/api/orgs/${orgId}/invitations/bulk`, {
        emails: ['x@example.com'],
        role: 'super_admin',
      }),
      403,
      'forbidden',
    );
    const tooMany = Array.from({ length: 201 }, (_, i) => `p${i}@example.com`);
    refused(
      await call('ada', 'POST', `/api/orgs/${orgId}/invitations/bulk`, { emails: tooMany }),
      422,
      'validation_failed',
    );
    refused(
      await call('ada', 'POST', `/api/orgs/${orgId}/invitations/bulk`, { emails: [] }),
      422,
      'validation_failed',
    );
    refused(
      await call('dev', 'POST', `/api/orgs/${orgId}/invitations/bulk`, { emails: ['x@example.com'] }),
      403,
      'forbidden',
    );
    refused(
      await call('ada', 'POST', '/api/orgs/org_zzzzzzzzzzzzzzzzzzzz/invitations/bulk', {
        emails: ['x@example.com'],
      }),
      404,
      'not_found',
    );
    refused(await call('dev', 'GET', `/api/orgs/${orgId}/invitations`), 403, 'forbidden');
  });
});
