import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { memberships, organizations, users } from '@keel/drizzle/schema';
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

    test('paths with .., absolute paths and odd forms never leave the workspace', async () => {
      for (const path of ['../x', '/etc/passwd', 'a/../../etc/passwd', '..', '//etc/passwd', 'a/./../../x']) {
        const read = await rig.admin.request(
          'GET',
          `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`,
          undefined,
          {
            bearer: true,
          },
        );
        assert.ok([400, 404].includes(read.status), `read ${path}: ${read.status}`);
        assert.notEqual(read.body.error.code, 'internal_error');
        const write = await rig.admin.request(
          'PUT',
          `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`,
          { content: 'pwned' },
          {
            bearer: true,
          },
        );
        assert.ok([400, 404, 422].includes(write.status), `write ${path}: ${write.status}`);
      }
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

    test('only the owner and admins see a workspace; viewers cannot run or write', async () => {
      const dev = await rig.member('developer', `dev-${kind}@example.com`);
      for (const path of [
        `/api/workspaces/${ws}`,
        `/api/workspaces/${ws}/files/tree?path=`,
        `/api/workspaces/${ws}/logs`,
      ]) {
        const res = await dev.request('GET', path, undefined, { bearer: true });
        assert.equal(res.status, 404, `${path} for another developer`);
      }
      const exec = await dev.request(
        'POST',
        `/api/workspaces/${ws}/execute`,
        { command: 'id' },
        { bearer: true },
      );
      assert.equal(exec.status, 404);
      const list = await dev.request('GET', '/api/workspaces', undefined, { bearer: true });
      assert.deepEqual(list.body.workspaces, []);

      const own = await dev.request('POST', '/api/workspaces', { name: 'mine' }, { bearer: true });
      assert.equal(own.status, 201);
      const seenByAdmin = await rig.admin.request('GET', `/api/workspaces/${own.body.id}`, undefined, {
        bearer: true,
      });
      assert.equal(seenByAdmin.status, 200, 'an admin of the organization sees it');

      const viewer = await rig.member('viewer', `viewer-${kind}@example.com`);
      const create = await viewer.request('POST', '/api/workspaces', { name: 'nope' }, { bearer: true });
      assert.equal(create.status, 403);
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
      ] as const) {
        const res = await other.request(method, path, undefined, { bearer: true });
        assert.equal(res.status, 404, `${method} ${path}`);
      }
      const runners = await other.request('GET', '/api/admin/runners', undefined, { bearer: true });
      assert.deepEqual(runners.body.runners, [], "another organization's runners are not listed");
      const revoke = await other.request('DELETE', `/api/admin/runners/${rig.runner.runnerId}`, undefined, {
        bearer: true,
      });
      assert.equal(revoke.status, 404);
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
      assert.equal(create.status, 503, 'no further jobs go to it');
      await waitFor('the runner to notice', async () => (revoked ? true : undefined), 30_000, 200);
    } finally {
      await rig.close();
    }
  });
});
