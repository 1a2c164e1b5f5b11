import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { unansweredReport } from '@keel/contract/ai-jobs';
import { runnerKeys } from '@keel/contract/keys';
import { auditEvents, invitations, memberships, organizations, runners, users } from '@keel/drizzle/schema';
import { eq, inArray } from 'drizzle-orm';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { FAKE_MODEL, type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { waitFor } from '../harness/ports.ts';
import { type Rig, readSse, startRig } from '../harness/runner-rig.ts';
import { connectTerminal, type TerminalSocket } from '../terminal/terminal-client.ts';

const PASSWORD = 'correct horse battery staple';
const PATCH = '--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-x\n+y\n';

/** What one person owns: a running workspace with a command, a shell and a model call in it. */
interface Holdings {
  client: BrowserClient;
  userId: string;
  orgId: string;
  workspaceId: string;
  executionId: string;
  terminalSession: string;
  streamId: string;
}

/**
 * Every route that takes a child id (execution, terminal session, AI stream, invitation, runner)
 * or a workspace id in its body, tried with another person's and another organization's ids.
 * One shared runner serves both organizations, so execution and stream ids live side by side
 * on it, as they do under `scripts/up`.
 */
describe('child ids belong to their parents', () => {
  let rig: Rig;
  let fake: FakeOpenAi;
  let owner: BrowserClient;
  let attacker: Holdings;
  let victim: Holdings;
  let outsider: Holdings;
  const sockets: TerminalSocket[] = [];
  let invitationA: string;
  let invitationB: string;
  let runnerA: { runnerId: string; credential: string };
  let runnerB: { runnerId: string; credential: string };

  const auth = (client: BrowserClient) => ({ authorization: `Bearer ${client.accessToken}` });
  const prefix = () => rig.app.services.config.redisPrefix;
  const keys = () => runnerKeys(prefix(), rig.runner.runnerId);

  async function whoAmI(client: BrowserClient): Promise<{ userId: string; orgId: string }> {
    const me = await client.request('GET', '/api/auth/me', undefined, { bearer: true });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    return { userId: me.body.user.id, orgId: me.body.organization.id };
  }

  async function holdings(client: BrowserClient, name: string): Promise<Holdings> {
    const { userId, orgId } = await whoAmI(client);
    const created = await client.request('POST', '/api/workspaces', { name }, { bearer: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const workspaceId = created.body.id as string;
    await rig.waitForStatus(client, workspaceId, 'running');
    const wrote = await client.request(
      'PUT',
      `/api/workspaces/${workspaceId}/files?path=a.txt`,
      { content: `${name}'s file\n` },
      { bearer: true },
    );
    assert.equal(wrote.status, 200, JSON.stringify(wrote.body));
    const exec = await client.request(
      'POST',
      `/api/workspaces/${workspaceId}/execute`,
      { command: 'sleep 120' },
      { bearer: true },
    );
    assert.equal(exec.status, 202, JSON.stringify(exec.body));
    const socket = await connectTerminal(rig.base, client, workspaceId);
    sockets.push(socket);
    const terminalSession = await socket.waitFor('the ready frame', () => socket.session);
    const explain = await rig.http('/api/ai/explain', {
      method: 'POST',
      headers: { ...auth(client), 'content-type': 'application/json' },
      body: JSON.stringify({ workspaceId, path: 'a.txt' }),
    });
    assert.equal(explain.status, 200);
    const streamId = explain.headers.get('x-keel-stream-id')!;
    await readSse(explain);
    return {
      client,
      userId,
      orgId,
      workspaceId,
      executionId: exec.body.executionId,
      terminalSession,
      streamId,
    };
  }

  async function outsiderClient(): Promise<BrowserClient> {
    const db = rig.app.services.db;
    const now = new Date();
    const orgId = `org_${'b'.repeat(20)}`;
    const userId = `usr_${'b'.repeat(20)}`;
    await db.insert(organizations).values({ id: orgId, name: 'Other', createdAt: now });
    await db.insert(users).values({
      id: userId,
      email: 'outsider@example.org',
      name: 'Outsider',
      passwordHash: await hashPassword(PASSWORD),
      createdAt: now,
    });
    await db
      .insert(memberships)
      .values({ userId, organizationId: orgId, role: 'super_admin', createdAt: now });
    const client = new BrowserClient(rig.http);
    const login = await client.request('POST', '/api/auth/login', {
      email: 'outsider@example.org',
      password: PASSWORD,
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    return client;
  }

  /** A runner registered (not started) with an organization's own token: its id and credential. */
  async function ownRunner(admin: BrowserClient, name: string) {
    const token = await admin.request('POST', '/api/admin/runner-tokens', { name }, { bearer: true });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    const res = await rig.http('/api/runners/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: token.body.token,
        name,
        capacity: { workspaces: 1, cpus: 1, memoryMb: 512 },
        drivers: ['process'],
      }),
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as { runnerId: string; credential: string };
    return { runnerId: body.runnerId, credential: body.credential };
  }

  before(async () => {
    fake = await startFakeOpenAi();
    const bootstrap = randomBytes(24).toString('hex');
    rig = await startRig('process', {
      edgeEnv: { KEEL_RUNNER_BOOTSTRAP_TOKEN: bootstrap },
      runnerEnv: {
        KEEL_RUNNER_TOKEN: bootstrap,
        KEEL_AI_BASE_URL: fake.baseUrl,
        KEEL_AI_MODEL: FAKE_MODEL,
      },
    });
    owner = rig.admin;
    attacker = await holdings(await rig.member('developer', 'mallory@example.com'), 'attacker');
    victim = await holdings(await rig.member('developer', 'victim@example.com'), 'victim');
    outsider = await holdings(await outsiderClient(), 'outsider');
    const invite = async (client: BrowserClient, orgId: string) => {
      const res = await client.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'viewer' },
        { bearer: true },
      );
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.invitation.id as string;
    };
    invitationA = await invite(owner, rig.orgId);
    invitationB = await invite(outsider.client, outsider.orgId);
    runnerA = await ownRunner(owner, 'org-a-runner');
    runnerB = await ownRunner(outsider.client, 'org-b-runner');
  });

  after(async () => {
    for (const s of sockets) await s.close().catch(() => {});
    await rig?.close();
    await fake?.close();
  });

  /** Each attempt answers 404 with the error body. */
  async function refused(client: BrowserClient, method: string, path: string, body?: unknown) {
    const res = await client.request(method, path, body, { bearer: true });
    assert.equal(res.status, 404, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'not_found', `${method} ${path}`);
  }

  /** The routes under a workspace and the AI routes, with `own`'s workspace and `foreign`'s children. */
  async function tryChildren(own: Holdings, foreign: Holdings) {
    const c = own.client;
    for (const ws of [own.workspaceId, foreign.workspaceId]) {
      await refused(c, 'POST', `/api/workspaces/${ws}/executions/${foreign.executionId}/cancel`);
      await refused(c, 'GET', `/api/workspaces/${ws}/executions/${foreign.executionId}/events`);
      await refused(
        c,
        'GET',
        `/api/workspaces/${ws}/terminal?session=${foreign.terminalSession}&cols=80&rows=24`,
      );
    }
    await refused(c, 'GET', `/api/ai/streams/${foreign.streamId}/events`);
    await refused(c, 'POST', `/api/ai/streams/${foreign.streamId}/cancel`);
  }

  /** Routes that name the workspace itself, in the path, the query or the body. */
  async function tryWorkspace(own: Holdings, foreign: Holdings) {
    const c = own.client;
    const ws = foreign.workspaceId;
    for (const [method, path, body] of [
      ['GET', `/api/workspaces/${ws}`],
      ['GET', `/api/workspaces/${ws}/status`],
      ['GET', `/api/workspaces/${ws}/logs`],
      ['GET', `/api/workspaces/${ws}/logs/events`],
      ['POST', `/api/workspaces/${ws}/stop`],
      ['POST', `/api/workspaces/${ws}/start`],
      ['DELETE', `/api/workspaces/${ws}`],
      ['POST', `/api/workspaces/${ws}/execute`, { command: 'touch pwned' }],
      ['GET', `/api/workspaces/${ws}/files?path=a.txt`],
      ['GET', `/api/workspaces/${ws}/files/raw?path=a.txt`],
      ['GET', `/api/workspaces/${ws}/files/tree?path=`],
      ['PUT', `/api/workspaces/${ws}/files?path=a.txt`, { content: 'pwned' }],
      ['DELETE', `/api/workspaces/${ws}/files?path=a.txt`],
      ['POST', `/api/workspaces/${ws}/files/rename`, { from: 'a.txt', to: 'b.txt' }],
      ['POST', `/api/workspaces/${ws}/files/mkdir`, { path: 'pwned' }],
      ['GET', `/api/workspaces/${ws}/terminal?cols=80&rows=24`],
      ['GET', `/api/ai/config?workspaceId=${ws}`],
      ['POST', '/api/ai/explain', { workspaceId: ws, path: 'a.txt' }],
      ['POST', '/api/ai/rewrite', { workspaceId: ws, path: 'a.txt', instruction: 'pwn' }],
      ['POST', '/api/ai/chat', { workspaceId: ws, messages: [{ role: 'user', content: 'hi' }] }],
      ['POST', '/api/patch/validate', { workspaceId: ws, patch: PATCH }],
      [
        'POST',
        '/api/patch/apply',
        { workspaceId: ws, patch: '--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-x\n+y\n' },
      ],
    ] as const) {
      await refused(c, method, path, body);
    }
  }

  test("another person's and another organization's ids are not found on every route", async () => {
    await tryChildren(attacker, victim);
    await tryChildren(attacker, outsider);
    await tryChildren(outsider, victim);
    await tryWorkspace(attacker, victim);
    await tryWorkspace(attacker, outsider);
    await tryWorkspace(outsider, victim);

    // Invitations and runners: each organization's admin, with the other's ids, in either path.
    for (const [client, ownOrg, otherOrg, otherInvitation, otherRunner] of [
      [owner, rig.orgId, outsider.orgId, invitationB, runnerB.runnerId],
      [outsider.client, outsider.orgId, rig.orgId, invitationA, runnerA.runnerId],
    ] as const) {
      await refused(client, 'DELETE', `/api/orgs/${ownOrg}/invitations/${otherInvitation}`);
      await refused(client, 'DELETE', `/api/orgs/${otherOrg}/invitations/${otherInvitation}`);
      await refused(client, 'GET', `/api/orgs/${otherOrg}/invitations`);
      await refused(client, 'DELETE', `/api/admin/runners/${otherRunner}`);
    }

    // A runner reporting on a model call another runner carried.
    const report = await rig.http('/api/runners/ai-reports', {
      method: 'POST',
      headers: { authorization: `Bearer ${runnerB.credential}`, 'content-type': 'application/json' },
      body: JSON.stringify(unansweredReport(victim.streamId, 'explain', FAKE_MODEL, 'model_unavailable')),
    });
    assert.equal(report.status, 404);

    // The audit trail is each organization's own, whatever workspace is asked about.
    const trail = await outsider.client.request(
      'GET',
      `/api/admin/audit?workspaceId=${victim.workspaceId}`,
      undefined,
      { bearer: true },
    );
    assert.equal(trail.status, 200);
    assert.deepEqual(trail.body.events, []);
  });

  test('nothing was done and nothing was recorded against the victims', async () => {
    // The commands still run: no exit in their streams, and the runner still holds them.
    await new Promise((r) => setTimeout(r, 500));
    for (const h of [victim, outsider, attacker]) {
      const exits = (
        await rig.app.services.redis().xrange(keys().execStream(h.executionId), '-', '+')
      ).filter(([, fields]) => fields[1] === 'exit');
      assert.deepEqual(exits, [], `${h.executionId} is still running`);
      assert.equal(
        await rig.app.services.redis().exists(keys().aiCancel(h.streamId)),
        0,
        'no AI cancel marker',
      );
    }
    // The workspaces, their files and their shells are as they were.
    for (const h of [victim, outsider]) {
      const status = await h.client.request('GET', `/api/workspaces/${h.workspaceId}/status`, undefined, {
        bearer: true,
      });
      assert.equal(status.body.status, 'running');
      const tree = await h.client.request(
        'GET',
        `/api/workspaces/${h.workspaceId}/files/tree?path=`,
        undefined,
        {
          bearer: true,
        },
      );
      assert.deepEqual(
        tree.body.entries.map((e: { name: string }) => e.name),
        ['a.txt'],
        'no file was added, renamed or removed',
      );
      const file = await h.client.request(
        'GET',
        `/api/workspaces/${h.workspaceId}/files?path=a.txt`,
        undefined,
        {
          bearer: true,
        },
      );
      assert.match(file.body.content, /'s file\n$/);
    }
    // Invitations still open, runners not revoked.
    const db = rig.app.services.db;
    const invs = await db
      .select()
      .from(invitations)
      .where(inArray(invitations.id, [invitationA, invitationB]));
    assert.equal(invs.length, 2);
    for (const inv of invs) assert.equal(inv.revokedAt, null, `${inv.id} is still open`);
    const rs = await db
      .select()
      .from(runners)
      .where(inArray(runners.id, [runnerA.runnerId, runnerB.runnerId]));
    for (const r of rs) assert.equal(r.revokedAt, null, `${r.id} is not revoked`);

    // No audit row made by one party names anything of another's.
    const idsOf = (h: Holdings) => [h.workspaceId, h.executionId, h.terminalSession, h.streamId];
    const ownerId = (await whoAmI(owner)).userId;
    for (const [actorId, others] of [
      [attacker.userId, [...idsOf(victim), ...idsOf(outsider), invitationB, runnerB.runnerId]],
      [outsider.userId, [...idsOf(victim), ...idsOf(attacker), invitationA, runnerA.runnerId]],
      [ownerId, [...idsOf(outsider), invitationB, runnerB.runnerId]],
    ] as const) {
      const rows = await db.select().from(auditEvents).where(eq(auditEvents.actorId, actorId));
      assert.ok(rows.length > 0, 'each party has audit rows of its own');
      const named = rows.filter(
        (r) => others.includes(r.targetId ?? '') || others.includes(r.workspaceId ?? ''),
      );
      assert.deepEqual(named, [], `no audit row of ${actorId} names another party's id`);
    }

    // The checks above can fail: each victim can still cancel its own command.
    for (const h of [victim, outsider]) {
      const res = await h.client.request(
        'POST',
        `/api/workspaces/${h.workspaceId}/executions/${h.executionId}/cancel`,
        undefined,
        { bearer: true },
      );
      assert.equal(res.status, 202);
      await waitFor(
        'the cancelled command to exit',
        async () => {
          const entries = await rig.app.services.redis().xrange(keys().execStream(h.executionId), '-', '+');
          return entries.some(([, f]) => f[1] === 'exit') ? true : undefined;
        },
        10_000,
        100,
      );
    }
  });
});
