import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatProtocol, PROTOCOL } from '@keel/contract/protocol';
import { auditEvents, organizations, users, workspaces } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { newId } from '../../edge/src/ids.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { type GitHostStandin, startGitHostStandin } from '../harness/git-host-standin.ts';
import { type Rig, readSse, startRig } from '../harness/runner-rig.ts';

const ADMIN_TOKEN = 'ghp_adminSecretToken0123456789';
const OTHER_TOKEN = 'ghp_otherPersonsToken987654321';

/**
 * Git host tokens end to end on the process driver: the edge keeps them sealed, the runner asks
 * for the owner's token when it clones or pushes, and git gets it only through its environment.
 * The Git host is a stand-in (real `git http-backend` behind Basic auth).
 */
describe('Git host tokens: private clone and push (process driver, Git host stand-in)', () => {
  let rig: Rig;
  let host: GitHostStandin;
  let dev: BrowserClient;
  const responses: string[] = [];

  const req = async (c: BrowserClient, method: string, path: string, body?: unknown) => {
    const res = await c.request(method, path, body, { bearer: true });
    responses.push(JSON.stringify(res.body ?? null));
    return res;
  };
  const createFromGit = async (c: BrowserClient, name: string) => {
    const res = await req(c, 'POST', '/api/workspaces', {
      name,
      source: { type: 'git', url: host.url('private.git') },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  };
  const finalStatus = async (c: BrowserClient, id: string) => {
    try {
      return await rig.waitForStatus(c, id, 'running', 60_000);
    } catch (err) {
      return { status: 'failed', reason: String(err) };
    }
  };
  const exec = async (id: string, command: string) => {
    const made = await req(rig.admin, 'POST', `/api/workspaces/${id}/execute`, { command });
    assert.equal(made.status, 202, JSON.stringify(made.body));
    return readSse(
      await rig.http(`/api/workspaces/${id}/executions/${made.body.executionId}/events`, {
        headers: { authorization: `Bearer ${rig.admin.accessToken}` },
      }),
    );
  };
  /** Every value under the edge's Redis prefix, as text: strings, lists, hashes, sets, streams. */
  const redisDump = async () => {
    const redis = rig.app.services.redis();
    const prefix = rig.app.services.config.redisPrefix;
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'string') out.push((await redis.getBuffer(key))?.toString('latin1') ?? '');
        else if (type === 'list') out.push(...(await redis.lrange(key, 0, -1)));
        else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === 'set') out.push(...(await redis.smembers(key)));
        else if (type === 'zset') out.push(...(await redis.zrange(key, 0, -1)));
        else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      }
    } while (cursor !== '0');
    return out.join('\n');
  };
  const assertNoToken = (where: string, text: string) => {
    for (const token of [ADMIN_TOKEN, OTHER_TOKEN]) {
      assert.equal(text.includes(token), false, `${where} holds a token`);
      for (const user of ['x-access-token', 'octo']) {
        const basic = Buffer.from(`${user}:${token}`).toString('base64');
        assert.equal(text.includes(basic), false, `${where} holds a token as Basic auth`);
      }
    }
  };

  before(async () => {
    host = await startGitHostStandin({ username: 'x-access-token', token: ADMIN_TOKEN });
    rig = await startRig('process');
    dev = await rig.member('developer', 'dev-git@example.com');
  });
  after(async () => {
    await rig?.close();
    await host?.close();
  });

  test('tokens are listed without the token, replaced per host, refused for bad bodies and for viewers', async () => {
    const viewer = await rig.member('viewer', 'viewer-git@example.com');
    const refused = await req(viewer, 'PUT', '/api/account/git-credentials', {
      host: 'github.com',
      token: 'ghp_viewerToken123',
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'forbidden');
    const listedByViewer = await req(viewer, 'GET', '/api/account/git-credentials');
    assert.equal(listedByViewer.status, 200, 'listing one’s own needs only a session');

    for (const [body, status, code] of [
      [{ host: 'https://github.com', token: 'ghp_abcdefgh12' }, 422, 'validation_failed'],
      [{ host: 'github.com/org', token: 'ghp_abcdefgh12' }, 422, 'validation_failed'],
      [{ host: 'user@github.com', token: 'ghp_abcdefgh12' }, 422, 'validation_failed'],
      [{ host: 'github.com', token: 'short' }, 422, 'validation_failed'],
      [{ host: 'github.com', token: 'has a space in it' }, 422, 'validation_failed'],
      [{ host: 'github.com', token: 'x'.repeat(1001) }, 422, 'validation_failed'],
      [{ host: 'github.com', token: 'ghp_abcdefgh12', extra: 1 }, 422, 'validation_failed'],
      [{ host: 'github.com', token: 'ghp_abcdefgh12', username: 'a:b' }, 422, 'validation_failed'],
    ] as const) {
      const res = await req(rig.admin, 'PUT', '/api/account/git-credentials', body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.error.code, code);
      assert.equal(typeof res.body.error.requestId, 'string');
    }
    const malformed = await rig.http('/api/account/git-credentials', {
      method: 'PUT',
      headers: { authorization: `Bearer ${rig.admin.accessToken}`, 'content-type': 'application/json' },
      body: '{"host":',
    });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as any).error.code, 'invalid_json');

    const first = await req(rig.admin, 'PUT', '/api/account/git-credentials', {
      host: 'GitHub.com',
      token: 'ghp_firstToken12345',
      label: 'work laptop',
    });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.credential.host, 'github.com');
    assert.equal(first.body.credential.username, 'x-access-token');
    assert.equal(first.body.credential.usernameIsDefault, true);
    const again = await req(rig.admin, 'PUT', '/api/account/git-credentials', {
      host: 'github.com',
      token: 'ghp_secondToken12345',
      username: 'octo',
    });
    assert.equal(again.status, 200);
    assert.equal(again.body.replaced, true);
    assert.equal(again.body.credential.id, first.body.credential.id);
    const gitlab = await req(rig.admin, 'PUT', '/api/account/git-credentials', {
      host: 'gitlab.com',
      token: 'glpat-token12345',
    });
    assert.equal(gitlab.body.credential.username, 'oauth2');
    const list = await req(rig.admin, 'GET', '/api/account/git-credentials');
    assert.deepEqual(
      list.body.credentials.map((c: any) => [c.host, c.username, c.label]),
      [
        ['github.com', 'octo', null],
        ['gitlab.com', 'oauth2', null],
      ],
    );
    assert.equal(JSON.stringify(list.body).includes('Token12345'), false, 'the list never holds a token');

    // Another person's id is the same 404 as a missing one; a malformed id too.
    const others = await req(dev, 'DELETE', `/api/account/git-credentials/${gitlab.body.credential.id}`);
    assert.equal(others.status, 404);
    assert.equal((await req(dev, 'DELETE', '/api/account/git-credentials/nope')).status, 404);
    const gone = await req(rig.admin, 'DELETE', `/api/account/git-credentials/${gitlab.body.credential.id}`);
    assert.equal(gone.status, 204);
    assert.equal(
      (await req(rig.admin, 'DELETE', `/api/account/git-credentials/${gitlab.body.credential.id}`)).status,
      404,
    );

    const audit = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.organizationId, rig.orgId));
    const actions = audit.map((a) => a.action);
    assert.equal(actions.filter((a) => a === 'git_credential.put').length, 3);
    assert.equal(actions.filter((a) => a === 'git_credential.delete').length, 1);
    assert.equal(JSON.stringify(audit).includes('Token12345'), false, 'the audit holds no token');

    // A personal access token cannot read or change them.
    const pat = await req(rig.admin, 'POST', '/api/account/tokens', {
      name: 'script',
      permissions: ['workspaces:create', 'workspaces:read'],
    });
    const byPat = await rig.http('/api/account/git-credentials', {
      headers: { authorization: `Bearer ${pat.body.token}` },
    });
    assert.equal(byPat.status, 403);
  });

  let cloned = '';

  test('a private repository: no token fails clearly; another person’s token is never used; the owner’s clones', async () => {
    // Someone else keeps a token for this host: it must never reach the host for the admin's clone.
    const put = await req(dev, 'PUT', '/api/account/git-credentials', {
      host: host.host,
      token: OTHER_TOKEN,
    });
    assert.equal(put.status, 201);
    const bare = await createFromGit(rig.admin, 'no-token');
    const failed = await finalStatus(rig.admin, bare);
    assert.equal(failed.status, 'failed');
    assert.match(failed.reason, /clone failed/);
    assert.match(failed.reason, /needs a login.*Settings › Integrations/);
    assert.equal(
      host.seen.some((s) => s?.includes(OTHER_TOKEN)),
      false,
      'another person’s token never reached the host',
    );

    const mine = await req(rig.admin, 'PUT', '/api/account/git-credentials', {
      host: host.host,
      token: ADMIN_TOKEN,
      label: 'stand-in',
    });
    assert.equal(mine.status, 201);
    cloned = await createFromGit(rig.admin, 'with-token');
    const ok = await finalStatus(rig.admin, cloned);
    assert.equal(ok.status, 'running', ok.reason);
    const readme = await req(rig.admin, 'GET', `/api/workspaces/${cloned}/files?path=README.md`);
    assert.equal(readme.status, 200);
    assert.equal(readme.body.content, 'private readme\n');

    const root = await rig.driver.workspaceRoot(cloned);
    const config = await readFile(join(root, '.git', 'config'), 'utf8');
    assert.match(config, new RegExp(host.host.replace(/[.]/g, '\\.')));
    assertNoToken('.git/config', config);
    const logs = await req(rig.admin, 'GET', `/api/workspaces/${cloned}/logs`);
    assertNoToken('the workspace log', JSON.stringify(logs.body));

    const listed = await req(rig.admin, 'GET', '/api/account/git-credentials');
    const used = listed.body.credentials.find((c: any) => c.host === host.host);
    assert.ok(used.lastUsedAt, 'its last use is marked');
    assert.equal(
      host.seen.some((s) => s?.includes(OTHER_TOKEN)),
      false,
      'another person’s token never reached the host',
    );
  });

  test('the runner route answers only the runner holding the workspace, for its own source host', async () => {
    const call = (credential: string, id: string, body: unknown) =>
      rig.http(`/api/runners/workspaces/${id}/git-credential`, {
        method: 'POST',
        headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const own = rig.credential.credential;
    const held = await call(own, cloned, { host: host.host, purpose: 'clone' });
    assert.equal(held.status, 200);
    assert.equal(((await held.json()) as any).credential.token, ADMIN_TOKEN);

    // Another runner of the organization, registered but not holding it.
    const token = await req(rig.admin, 'POST', '/api/admin/runner-tokens', { name: 'second', maxUses: 1 });
    const registered = await fetch(new URL('/api/runners/register', rig.base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: token.body.token,
        name: 'second',
        labels: {},
        capacity: { workspaces: 1, cpus: 1, memoryMb: 1024 },
        drivers: ['process'],
        version: '0.0.0',
        protocol: formatProtocol(PROTOCOL),
      }),
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    const second = ((await registered.json()) as any).credential as string;
    const notHolder = await call(second, cloned, { host: host.host, purpose: 'clone' });
    assert.equal(notHolder.status, 404);
    assert.equal(((await notHolder.json()) as any).error.code, 'not_found');

    // Another organization's workspace, even one named by a runner that exists: 404.
    const orgB = newId('organization');
    const userB = newId('user');
    const wsB = newId('workspace');
    const db = rig.app.services.db;
    await db.insert(organizations).values({ id: orgB, name: 'B', createdAt: new Date() });
    await db
      .insert(users)
      .values({ id: userB, email: 'b@example.com', name: 'B', passwordHash: 'x', createdAt: new Date() });
    await db.insert(workspaces).values({
      id: wsB,
      organizationId: orgB,
      ownerId: userB,
      name: 'b',
      source: { type: 'git', url: host.url('private.git') },
      resources: { cpus: 1, memoryMb: 512 },
      status: 'running',
    });
    assert.equal((await call(own, wsB, { host: host.host, purpose: 'clone' })).status, 404);
    // Another host than the workspace's source, a push nobody asked for, malformed ids: 404.
    assert.equal((await call(own, cloned, { host: 'github.com', purpose: 'clone' })).status, 404);
    assert.equal((await call(own, cloned, { host: host.host, purpose: 'push' })).status, 404);
    assert.equal((await call(own, 'ws_nope', { host: host.host, purpose: 'clone' })).status, 404);
    // Bad bodies: the error body, never a 500.
    const bad = await call(own, cloned, { host: 'https://x', purpose: 'clone' });
    assert.equal(bad.status, 422);
    assert.equal(((await bad.json()) as any).error.code, 'validation_failed');
    // Without a runner credential: refused.
    assert.equal((await call('nope', cloned, { host: host.host, purpose: 'clone' })).status, 401);
  });

  test('a push reaches the host with the owner’s token; never from someone else’s workspace', async () => {
    const events = await exec(
      cloned,
      'echo pushed-line >> README.md && git -c user.name=A -c user.email=a@example.com commit -qam second && git rev-parse HEAD',
    );
    const head = events.find((e) => e.event === 'stdout')?.data.trim() ?? '';
    assert.match(head, /^[0-9a-f]{40}$/, JSON.stringify(events));

    const badBody = await req(rig.admin, 'POST', `/api/workspaces/${cloned}/git/push`, { remote: '-x' });
    assert.equal(badBody.status, 422);
    assert.equal(badBody.body.error.code, 'validation_failed');
    const noRemote = await req(rig.admin, 'POST', `/api/workspaces/${cloned}/git/push`, {
      remote: 'upstream',
    });
    assert.equal(noRemote.status, 422);
    assert.match(noRemote.body.error.message, /no remote named upstream/);

    const pushed = await req(rig.admin, 'POST', `/api/workspaces/${cloned}/git/push`, {});
    assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
    assert.equal(pushed.body.pushed, true, pushed.body.output);
    assert.equal(pushed.body.branch, 'main');
    assert.equal(pushed.body.authenticated, true);
    assert.equal(host.git('private.git', 'rev-parse', 'main').trim(), head);

    // Another developer does not see the workspace; an admin who may work in it does not push as its owner.
    const devWs = await req(dev, 'POST', `/api/workspaces/${cloned}/git/push`, {});
    assert.equal(devWs.status, 404, 'another developer does not see it');
    const admin2 = await rig.member('admin', 'admin-git@example.com');
    const asAdmin = await req(admin2, 'POST', `/api/workspaces/${cloned}/git/push`, {});
    assert.equal(asAdmin.status, 403);
    assert.equal(asAdmin.body.error.code, 'forbidden');
    // A push without a kept token (the admin forgets theirs) is answered, not pushed, and says why.
    const kept = (await req(rig.admin, 'GET', '/api/account/git-credentials')).body.credentials.find(
      (c: any) => c.host === host.host,
    );
    await exec(
      cloned,
      'echo third >> README.md && git -c user.name=A -c user.email=a@example.com commit -qam third',
    );
    assert.equal((await req(rig.admin, 'DELETE', `/api/account/git-credentials/${kept.id}`)).status, 204);
    const anonymous = await req(rig.admin, 'POST', `/api/workspaces/${cloned}/git/push`, {});
    assert.equal(anonymous.status, 200);
    assert.equal(anonymous.body.pushed, false);
    assert.equal(anonymous.body.authenticated, false);
    assert.match(anonymous.body.output, /needs a login/);
    assert.equal(host.git('private.git', 'rev-parse', 'main').trim(), head, 'nothing reached the host');

    const root = await rig.driver.workspaceRoot(cloned);
    assertNoToken('.git/config after the push', await readFile(join(root, '.git', 'config'), 'utf8'));
    const audit = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.workspaceId, cloned));
    assert.ok(audit.some((a) => a.action === 'workspace.git_push' && a.outcome === 'success'));
    assert.ok(audit.some((a) => a.action === 'git_credential.use'));
  });

  test('the token appears in no API answer, Redis value or audit row', async () => {
    assertNoToken('API answers', responses.join('\n'));
    assertNoToken('Redis', await redisDump());
    const audit = await rig.app.services.db.select().from(auditEvents);
    assertNoToken('the audit log', JSON.stringify(audit));
  });
});
