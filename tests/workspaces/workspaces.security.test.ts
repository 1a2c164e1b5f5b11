import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { auditEvents, memberships, organizations, runners as runnerRows, users } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { DRIVER_KINDS, type Rig, readSse, startRig } from '../harness/runner-rig.ts';

async function run(rig: Rig, client: BrowserClient, ws: string, command: string) {
  const res = await client.request('POST', `/api/workspaces/${ws}/execute`, { command }, { bearer: true });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const events = await readSse(
    await rig.http(`/api/workspaces/${ws}/executions/${res.body.executionId}/events`, {
      headers: { authorization: `Bearer ${client.accessToken}` },
    }),
  );
  return {
    stdout: events
      .filter((e) => e.event === 'stdout')
      .map((e) => e.data)
      .join(''),
    exit: JSON.parse(events.at(-1)!.data),
  };
}

/** Every entry under `dir` (not following links): its type, and a file's content hash. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const path = join(abs, name);
      const st = lstatSync(path);
      const key = rel ? `${rel}/${name}` : name;
      if (st.isDirectory()) {
        out[key] = `dir ${st.mode.toString(8)}`;
        walk(path, key);
      } else if (st.isFile()) {
        out[key] = `file ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
      } else {
        out[key] = st.isSymbolicLink() ? `link ${readlinkSync(path)}` : 'other';
      }
    }
  };
  walk(dir, '');
  return out;
}

for (const kind of DRIVER_KINDS) {
  describe(`workspace boundaries (${kind} driver)`, () => {
    let rig: Rig;
    let ws: string;
    before(async () => {
      rig = await startRig(kind);
      const created = await rig.admin.request('POST', '/api/workspaces', { name: 'walls' }, { bearer: true });
      ws = created.body.id;
      await rig.waitForStatus(rig.admin, ws, 'running');
    });
    after(() => rig.close());

    /** Writes a file as `client`; its hash. */
    async function write(client: BrowserClient, id: string, path: string, content: string): Promise<string> {
      const res = await client.request(
        'PUT',
        `/api/workspaces/${id}/files?path=${path}`,
        { content },
        { bearer: true },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.sha256;
    }

    /** What a refusal must leave as it was: the workspace's status and every file under its root. */
    async function stateOf(id: string) {
      const status = await rig.admin.request('GET', `/api/workspaces/${id}/status`, undefined, {
        bearer: true,
      });
      return { status: status.body.status, files: snapshot(await rig.driver.workspaceRoot(id)) };
    }

    async function exited(executionId: string): Promise<boolean> {
      const key = runnerKeys(rig.app.services.config.redisPrefix, rig.runner.runnerId).execStream(
        executionId,
      );
      const entries = await rig.app.services.redis().xrange(key, '-', '+');
      return entries.some(([, fields]) => fields[1] === 'exit');
    }

    /** The audit actions done in a user's name: sign-ins and refusals aside. */
    async function actionsOf(userId: string): Promise<string[]> {
      const rows = await rig.app.services.db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.actorId, userId));
      return rows
        .filter((r) => !r.action.startsWith('auth.') && r.outcome !== 'denied')
        .map((r) => `${r.action}:${r.outcome}`);
    }

    test('paths with .., absolute paths and odd forms are refused with 400 invalid_path on every file route', async () => {
      const root = await rig.driver.workspaceRoot(ws);
      const before = { parent: snapshot(dirname(root)), passwd: readFileSync('/etc/passwd', 'utf8') };
      const q = (path: string) => `path=${encodeURIComponent(path)}`;
      for (const path of ['../x', '/etc/passwd', 'a/../../etc/passwd', '..', '//etc/passwd', 'a/./../../x']) {
        for (const [method, route, body] of [
          ['GET', `/files?${q(path)}`],
          ['GET', `/files/raw?${q(path)}`],
          ['GET', `/files/tree?${q(path)}`],
          ['PUT', `/files?${q(path)}`, { content: 'pwned' }],
          ['DELETE', `/files?${q(path)}&recursive=true`],
          ['POST', '/files/mkdir', { path }],
          ['POST', '/files/rename', { from: path, to: 'stolen' }],
          ['POST', '/files/rename', { from: 'a.txt', to: path, overwrite: true }],
        ] as const) {
          const res = await rig.admin.request(method, `/api/workspaces/${ws}${route}`, body, {
            bearer: true,
          });
          assert.equal(res.status, 400, `${method} ${route} ${JSON.stringify(body)}: ${res.status}`);
          assert.equal(res.body.error.code, 'invalid_path', `${method} ${route}`);
        }
      }
      assert.deepEqual(snapshot(dirname(root)), before.parent, "the workspace's parent folder is untouched");
      assert.equal(readFileSync('/etc/passwd', 'utf8'), before.passwd, 'the host file is untouched');
    });

    test('symlinks made by the workspace itself cannot be followed out, for reads or writes', async () => {
      const made = await run(
        rig,
        rig.admin,
        ws,
        'ln -s / rootlink && ln -s /etc/passwd pw && ln -s /tmp tmplink && echo ok',
      );
      assert.equal(made.stdout.trim(), 'ok');
      for (const path of ['rootlink/etc/passwd', 'pw', 'tmplink/x']) {
        const read = await rig.admin.request(
          'GET',
          `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`,
          undefined,
          {
            bearer: true,
          },
        );
        assert.equal(read.status, 400, `read through ${path}`);
        assert.equal(read.body.error.code, 'invalid_path');
        assert.equal(JSON.stringify(read.body).includes('root:'), false);
      }
      const before = readFileSync('/etc/passwd', 'utf8');
      const write = await rig.admin.request(
        'PUT',
        `/api/workspaces/${ws}/files?path=pw`,
        { content: 'pwned' },
        { bearer: true },
      );
      assert.equal(write.status, 400);
      const deep = await rig.admin.request(
        'PUT',
        `/api/workspaces/${ws}/files?path=rootlink/tmp/keel-pwned`,
        { content: 'x' },
        {
          bearer: true,
        },
      );
      assert.equal(deep.status, 400);
      assert.equal(readFileSync('/etc/passwd', 'utf8'), before, 'the host file is untouched');
      assert.equal(existsSync('/tmp/keel-pwned'), false, 'nothing was created on the host');
      const tree = await rig.admin.request(
        'GET',
        `/api/workspaces/${ws}/files/tree?path=rootlink`,
        undefined,
        { bearer: true },
      );
      assert.equal(tree.status, 400, 'listing through a symlink is refused');
    });

    test('hard links are refused', async () => {
      const made = await run(rig, rig.admin, ws, 'echo secret > a.txt && ln a.txt b.txt && echo ok');
      assert.equal(made.stdout.trim(), 'ok');
      const read = await rig.admin.request('GET', `/api/workspaces/${ws}/files?path=b.txt`, undefined, {
        bearer: true,
      });
      assert.equal(read.status, 400);
    });

    test('only the owner and admins see a workspace; another developer changes nothing', async () => {
      await write(rig.admin, ws, 'owned.txt', 'the owner wrote this');
      const before = await stateOf(ws);
      const dev = await rig.member('developer', `dev-${kind}@example.com`);
      for (const path of [
        `/api/workspaces/${ws}`,
        `/api/workspaces/${ws}/files/tree?path=`,
        `/api/workspaces/${ws}/logs`,
        `/api/workspaces/${ws}/logs/events`,
      ]) {
        const res = await dev.request('GET', path, undefined, { bearer: true });
        assert.equal(res.status, 404, `${path} for another developer`);
      }
      for (const [method, path, body] of [
        ['POST', `/api/workspaces/${ws}/execute`, { command: 'touch pwned' }],
        ['DELETE', `/api/workspaces/${ws}/files?path=owned.txt`],
        ['PUT', `/api/workspaces/${ws}/files?path=owned.txt`, { content: 'pwned' }],
        ['POST', `/api/workspaces/${ws}/stop`],
        ['DELETE', `/api/workspaces/${ws}`],
      ] as const) {
        const res = await dev.request(method, path, body, { bearer: true });
        assert.equal(res.status, 404, `${method} ${path} for another developer`);
      }
      const list = await dev.request('GET', '/api/workspaces', undefined, { bearer: true });
      assert.deepEqual(list.body.workspaces, []);
      assert.deepEqual(await stateOf(ws), before, 'nothing changed or ran');

      const own = await dev.request('POST', '/api/workspaces', { name: 'mine' }, { bearer: true });
      assert.equal(own.status, 201);
      const seenByAdmin = await rig.admin.request('GET', `/api/workspaces/${own.body.id}`, undefined, {
        bearer: true,
      });
      assert.equal(seenByAdmin.status, 200, 'an admin of the organization sees it');

      const viewer = await rig.member('viewer', `viewer-${kind}@example.com`);
      const create = await viewer.request('POST', '/api/workspaces', { name: 'nope' }, { bearer: true });
      assert.equal(create.status, 403);
      const workspaces = await rig.admin.request('GET', '/api/workspaces', undefined, { bearer: true });
      assert.equal(
        workspaces.body.workspaces.some((w: { name: string }) => w.name === 'nope'),
        false,
        'no workspace was made',
      );
    });

    test('an owner demoted to viewer can no longer run, write, cancel, start, stop or delete', async () => {
      const email = `demoted-${kind}@example.com`;
      const dev = await rig.member('developer', email);
      const created = await dev.request('POST', '/api/workspaces', { name: 'demoted' }, { bearer: true });
      assert.equal(created.status, 201);
      const own = created.body.id as string;
      await rig.waitForStatus(dev, own, 'running');
      await write(dev, own, 'kept.txt', 'before the demotion');
      const sleeper = await dev.request(
        'POST',
        `/api/workspaces/${own}/execute`,
        { command: 'sleep 120' },
        { bearer: true },
      );
      assert.equal(sleeper.status, 202);
      const userId = (await dev.request('GET', '/api/auth/me', undefined, { bearer: true })).body.user
        .id as string;

      await rig.app.services.db
        .update(memberships)
        .set({ role: 'viewer' })
        .where(and(eq(memberships.userId, userId), eq(memberships.organizationId, rig.orgId)));
      const viewer = new BrowserClient(rig.http);
      const login = await viewer.request('POST', '/api/auth/login', {
        email,
        password: 'correct horse battery staple',
      });
      assert.equal(login.status, 200);
      const auditBefore = await actionsOf(userId);
      const before = await stateOf(own);

      for (const [method, path, body] of [
        ['POST', `/api/workspaces/${own}/execute`, { command: 'touch ran' }],
        ['PUT', `/api/workspaces/${own}/files?path=kept.txt`, { content: 'changed' }],
        ['PUT', `/api/workspaces/${own}/files?path=new.txt`, { content: 'new' }],
        ['DELETE', `/api/workspaces/${own}/files?path=kept.txt`],
        ['POST', `/api/workspaces/${own}/files/rename`, { from: 'kept.txt', to: 'moved.txt' }],
        ['POST', `/api/workspaces/${own}/files/mkdir`, { path: 'made' }],
        ['POST', `/api/workspaces/${own}/executions/${sleeper.body.executionId}/cancel`],
        ['POST', `/api/workspaces/${own}/stop`],
        ['POST', `/api/workspaces/${own}/start`],
        ['DELETE', `/api/workspaces/${own}`],
      ] as const) {
        const res = await viewer.request(method, path, body, { bearer: true });
        assert.equal(res.status, 403, `${method} ${path}: ${res.status}`);
        assert.equal(res.body.error.code, 'forbidden');
      }
      // Give a wrongly accepted job time to show.
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(await stateOf(own), before, 'nothing changed or ran');
      assert.equal(await exited(sleeper.body.executionId), false, 'the command still runs');
      assert.deepEqual(await actionsOf(userId), auditBefore, 'nothing was done in its name');
    });

    test('another organization gets 404 for everything', async () => {
      const db = rig.app.services.db;
      const now = new Date();
      await db.insert(organizations).values({
        id: `org_${kind === 'docker' ? 'd' : 'p'}aaaaaaaaaaaaaaaaaaa`,
        name: 'Other',
        createdAt: now,
      });
      const userId = `usr_${kind === 'docker' ? 'd' : 'p'}aaaaaaaaaaaaaaaaaaa`;
      await db.insert(users).values({
        id: userId,
        email: `other-${kind}@example.org`,
        name: 'Other',
        passwordHash: await hashPassword('correct horse battery staple'),
        createdAt: now,
      });
      await db.insert(memberships).values({
        userId,
        organizationId: `org_${kind === 'docker' ? 'd' : 'p'}aaaaaaaaaaaaaaaaaaa`,
        role: 'super_admin',
        createdAt: now,
      });
      const before = await stateOf(ws);
      const other = new BrowserClient(rig.http);
      const login = await other.request('POST', '/api/auth/login', {
        email: `other-${kind}@example.org`,
        password: 'correct horse battery staple',
      });
      assert.equal(login.status, 200);
      for (const [method, path] of [
        ['GET', `/api/workspaces/${ws}`],
        ['GET', `/api/workspaces/${ws}/files?path=a.txt`],
        ['POST', `/api/workspaces/${ws}/stop`],
        ['DELETE', `/api/workspaces/${ws}`],
        ['DELETE', `/api/workspaces/${ws}/files?path=a.txt`],
        ['PUT', `/api/workspaces/${ws}/files?path=a.txt`],
      ] as const) {
        const res = await other.request(method, path, method === 'PUT' ? { content: 'pwned' } : undefined, {
          bearer: true,
        });
        assert.equal(res.status, 404, `${method} ${path}`);
      }
      assert.deepEqual(await stateOf(ws), before, 'the workspace runs on, its files as they were');
      const runners = await other.request('GET', '/api/admin/runners', undefined, { bearer: true });
      assert.deepEqual(runners.body.runners, [], "another organization's runners are not listed");
      const revoke = await other.request('DELETE', `/api/admin/runners/${rig.runner.runnerId}`, undefined, {
        bearer: true,
      });
      assert.equal(revoke.status, 404);
      const registered = await db.select().from(runnerRows).where(eq(runnerRows.id, rig.runner.runnerId));
      assert.equal(registered[0]?.revokedAt, null, 'the runner is not revoked');
    });

    test('a stale write (409) and a write without the CSRF header change nothing', async () => {
      const sha = await write(rig.admin, ws, 'edited.txt', 'first');
      await write(rig.admin, ws, 'edited.txt', 'second');
      const before = await stateOf(ws);
      const stale = await rig.admin.request(
        'PUT',
        `/api/workspaces/${ws}/files?path=edited.txt`,
        { content: 'third', baseSha256: sha },
        { bearer: true },
      );
      assert.equal(stale.status, 409);
      for (const [method, path, body] of [
        ['PUT', `/api/workspaces/${ws}/files?path=edited.txt`, { content: 'forged' }],
        ['POST', `/api/workspaces/${ws}/execute`, { command: 'touch forged' }],
        ['POST', `/api/workspaces/${ws}/stop`],
        ['DELETE', `/api/workspaces/${ws}`],
      ] as const) {
        const res = await rig.admin.request(method, path, body, { csrf: false });
        assert.equal(res.status, 403, `${method} ${path} without the CSRF header`);
        assert.equal(res.body.error.code, 'csrf_failed');
      }
      assert.deepEqual(await stateOf(ws), before, 'nothing changed or ran');
    });
  });
}

describe('runner revocation', () => {
  test('a revoked runner gets no new workspaces and stops itself within 30 s', async () => {
    const rig = await startRig('process');
    try {
      let revoked = false;
      rig.runner.onRevoked = () => {
        revoked = true;
      };
      const res = await rig.admin.request('DELETE', `/api/admin/runners/${rig.runner.runnerId}`, undefined, {
        bearer: true,
      });
      assert.equal(res.status, 204);
      const checkIn = await rig.http('/api/runners/check-in', {
        method: 'POST',
        headers: { authorization: `Bearer ${rig.credential.credential}` },
      });
      assert.equal(checkIn.status, 401, 'its calls are refused at once');
      const list = await rig.admin.request('GET', '/api/admin/runners', undefined, { bearer: true });
      assert.equal(list.body.runners[0].status, 'revoked');
      const create = await rig.admin.request('POST', '/api/workspaces', { name: 'x' }, { bearer: true });
      // It waits for a place instead: the revoked runner is a refused candidate, nothing is sent to it.
      assert.equal(create.status, 201, JSON.stringify(create.body));
      assert.equal(create.body.status, 'queued', 'no further jobs go to it');
      assert.equal(create.body.runnerId, null);
      const why = await rig.admin.request('GET', `/api/workspaces/${create.body.id}/placement`, undefined, {
        bearer: true,
      });
      assert.equal(why.body.current.candidates[0].refusal, 'revoked');
      await waitFor('the runner to notice', async () => (revoked ? true : undefined), 30_000, 200);
    } finally {
      await rig.close();
    }
  });
});
