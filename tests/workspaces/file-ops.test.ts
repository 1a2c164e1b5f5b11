/*
 * Rename, delete and mkdir through the API against a real edge and runner, on both
 * drivers: what they do to the files on the host, and that no path, link or odd form
 * gets them outside the workspace.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { auditEvents } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { DRIVER_KINDS, type Rig, startRig } from '../harness/runner-rig.ts';

for (const kind of DRIVER_KINDS) {
  describe(`file rename, delete and mkdir (${kind} driver)`, () => {
    let rig: Rig;
    let ws: string;
    let root: string;
    let outside: string;
    const api = (method: string, path: string, body?: unknown) =>
      rig.admin.request(method, path, body, { bearer: true });
    const files = (route = '') => `/api/workspaces/${ws}/files${route}`;
    const rename = (body: unknown) => api('POST', files('/rename'), body);
    const mkdir = (path: string) => api('POST', files('/mkdir'), { path });
    const remove = (path: string, recursive?: boolean) =>
      api('DELETE', `${files()}?path=${encodeURIComponent(path)}${recursive ? '&recursive=true' : ''}`);
    const names = async (dir: string) =>
      (await api('GET', `${files('/tree')}?path=${encodeURIComponent(dir)}`)).body.entries.map(
        (e: { name: string }) => e.name,
      );
    async function put(path: string, content: string) {
      const res = await api('PUT', `${files()}?path=${encodeURIComponent(path)}`, { content });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }

    before(async () => {
      rig = await startRig(kind);
      const created = await api('POST', '/api/workspaces', { name: 'file-ops' });
      ws = created.body.id;
      await rig.waitForStatus(rig.admin, ws, 'running');
      root = await rig.driver.workspaceRoot(ws);
      outside = join(tmpdir(), `keel-fileops-${process.pid}-${kind}`);
      rmSync(outside, { recursive: true, force: true });
      mkdirSync(outside);
      writeFileSync(join(outside, 'secret.txt'), 'host secret\n');
      symlinkSync(outside, join(root, 'dirlink'));
      symlinkSync(join(outside, 'secret.txt'), join(root, 'filelink'));
    });
    after(async () => {
      await rig.close();
      rmSync(outside, { recursive: true, force: true });
    });

    test('rename moves files and folders, refuses to replace unless asked, and refreshes the tree', async () => {
      await put('r/a.txt', 'a\n');
      await put('r/b.txt', 'b\n');
      await put('r/dir/inner.txt', 'inner\n');
      assert.deepEqual(await names('r'), ['a.txt', 'b.txt', 'dir']);

      const moved = await rename({ from: 'r/a.txt', to: 'r/c.txt' });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.deepEqual(moved.body, { from: 'r/a.txt', to: 'r/c.txt' });
      assert.deepEqual(await names('r'), ['b.txt', 'c.txt', 'dir'], 'the cached tree was dropped');

      const taken = await rename({ from: 'r/b.txt', to: 'r/c.txt' });
      assert.equal(taken.status, 409);
      assert.equal(taken.body.error.code, 'conflict');
      assert.equal(readFileSync(join(root, 'r/c.txt'), 'utf8'), 'a\n');
      const replaced = await rename({ from: 'r/b.txt', to: 'r/c.txt', overwrite: true });
      assert.equal(replaced.status, 200);
      assert.equal(readFileSync(join(root, 'r/c.txt'), 'utf8'), 'b\n');

      assert.equal((await rename({ from: 'r/dir', to: 'r/folder' })).status, 200);
      assert.equal(readFileSync(join(root, 'r/folder/inner.txt'), 'utf8'), 'inner\n');

      const missing = await rename({ from: 'r/nope', to: 'r/x' });
      assert.equal(missing.status, 404);
      const same = await rename({ from: 'r/c.txt', to: 'r//c.txt' });
      assert.equal(same.status, 400);
      const intoItself = await rename({ from: 'r/folder', to: 'r/folder/sub' });
      assert.equal(intoItself.status, 400);

      const [event] = await rig.app.services.db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.action, 'file.rename'), eq(auditEvents.workspaceId, ws)));
      assert.equal(event?.outcome, 'success');
      assert.match(String((event!.metadata as { fromSha256: string }).fromSha256), /^[0-9a-f]{64}$/);
      assert.doesNotMatch(JSON.stringify(event), /a\.txt|c\.txt/, 'paths are kept as hashes');
    });

    test('delete removes files, folders only when recursive, and a link as a link', async () => {
      await put('d/one.txt', '1\n');
      await put('d/full/two.txt', '2\n');
      assert.equal((await remove('d/one.txt')).status, 204);
      assert.equal(existsSync(join(root, 'd/one.txt')), false);
      const notEmpty = await remove('d/full');
      assert.equal(notEmpty.status, 409);
      assert.equal(existsSync(join(root, 'd/full/two.txt')), true);
      assert.equal((await remove('d/full', true)).status, 204);
      assert.deepEqual(readdirSync(join(root, 'd')), []);
      assert.equal((await remove('d/one.txt')).status, 404);

      symlinkSync(join(outside, 'secret.txt'), join(root, 'd/link'));
      assert.equal((await remove('d/link')).status, 204);
      assert.equal(existsSync(join(root, 'd/link')), false);
      assert.equal(readFileSync(join(outside, 'secret.txt'), 'utf8'), 'host secret\n', 'the target stays');
    });

    test('mkdir creates nested folders once; an existing name is a 409', async () => {
      const made = await mkdir('m/a/b');
      assert.equal(made.status, 201, JSON.stringify(made.body));
      assert.deepEqual(made.body, { path: 'm/a/b' });
      assert.ok(lstatSync(join(root, 'm/a/b')).isDirectory());
      assert.deepEqual(await names('m/a'), ['b']);
      assert.equal((await mkdir('m/a/b')).status, 409);
      await put('m/file.txt', 'x\n');
      assert.equal((await mkdir('m/file.txt')).status, 409);
      assert.equal((await mkdir('m/file.txt/sub')).status, 400);
    });

    test('no path, link or odd form leads outside the workspace', async () => {
      await put('e/keep.txt', 'keep\n');
      const before = readdirSync(outside).sort();
      const deniedEvents = () =>
        rig.app.services.db
          .select()
          .from(auditEvents)
          .where(and(eq(auditEvents.workspaceId, ws), eq(auditEvents.outcome, 'denied')));
      const deniedBefore = (await deniedEvents()).length;
      const attempts: Array<[string, () => ReturnType<typeof api>]> = [
        ['rename from ..', () => rename({ from: '../etc/passwd', to: 'e/x' })],
        ['rename to ..', () => rename({ from: 'e/keep.txt', to: '../../keep.txt' })],
        ['rename to an absolute path', () => rename({ from: 'e/keep.txt', to: '/tmp/keep.txt' })],
        ['rename into a linked folder', () => rename({ from: 'e/keep.txt', to: 'dirlink/keep.txt' })],
        ['rename out of a linked folder', () => rename({ from: 'dirlink/secret.txt', to: 'e/stolen.txt' })],
        ['rename onto a link', () => rename({ from: 'e/keep.txt', to: 'filelink', overwrite: true })],
        ['rename the root', () => rename({ from: '.', to: 'e/root' })],
        ['delete through a linked folder', () => remove('dirlink/secret.txt')],
        ['delete ..', () => remove('..', true)],
        ['delete an absolute path', () => remove('/etc/hostname')],
        ['delete the root', () => remove('./', true)],
        ['mkdir in a linked folder', () => mkdir('dirlink/new')],
        ['mkdir ..', () => mkdir('e/../../escape')],
        ['mkdir an absolute path', () => mkdir('/tmp/keel-escape')],
      ];
      for (const [name, attempt] of attempts) {
        const res = await attempt();
        assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'invalid_path', name);
      }
      assert.deepEqual(readdirSync(outside).sort(), before);
      assert.equal(readFileSync(join(outside, 'secret.txt'), 'utf8'), 'host secret\n');
      assert.equal(readFileSync(join(root, 'e/keep.txt'), 'utf8'), 'keep\n');
      assert.ok(lstatSync(join(root, 'filelink')).isSymbolicLink(), 'the link was not replaced');
      assert.equal(existsSync('/tmp/keel-escape'), false);

      const denied = (await deniedEvents()).length - deniedBefore;
      assert.equal(denied, attempts.length, 'every refused attempt is in the audit trail');
    });

    test('a refused file write and a cancelled command are in the audit trail too', async () => {
      await put('w.txt', 'one\n');
      const stale = await api('PUT', `${files()}?path=w.txt`, {
        content: 'two\n',
        baseSha256: 'f'.repeat(64),
      });
      assert.equal(stale.status, 409);
      const started = await api('POST', `/api/workspaces/${ws}/execute`, { command: ['sleep', '30'] });
      assert.equal(started.status, 202);
      const executionId = started.body.executionId as string;
      const cancel = await api('POST', `/api/workspaces/${ws}/executions/${executionId}/cancel`);
      assert.equal(cancel.status, 202);
      const events = await rig.app.services.db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.workspaceId, ws));
      const write = events.filter((e) => e.action === 'file.write' && e.outcome === 'failure');
      assert.deepEqual(
        write.map((e) => (e.metadata as { error: string }).error),
        ['conflict'],
      );
      assert.ok(events.some((e) => e.action === 'execution.cancel' && e.targetId === executionId));
    });

    test('bad input, viewers and other people get the error body', async () => {
      const cases: Array<[string, () => ReturnType<typeof api>, number, string]> = [
        ['rename without to', () => rename({ from: 'a' }), 422, 'validation_failed'],
        ['rename with an empty name', () => rename({ from: '', to: 'b' }), 422, 'validation_failed'],
        [
          'rename with an unknown field',
          () => rename({ from: 'a', to: 'b', force: 1 }),
          422,
          'validation_failed',
        ],
        ['rename with a NUL', () => rename({ from: 'a\0', to: 'b' }), 422, 'validation_failed'],
        ['mkdir without a path', () => api('POST', files('/mkdir'), {}), 422, 'validation_failed'],
        ['delete without a path', () => api('DELETE', files()), 422, 'validation_failed'],
        [
          'delete with recursive=yes',
          () => api('DELETE', `${files()}?path=a&recursive=yes`),
          422,
          'validation_failed',
        ],
        [
          'delete with an unknown parameter',
          () => api('DELETE', `${files()}?path=a&force=1`),
          422,
          'validation_failed',
        ],
        [
          'an unknown workspace',
          () => api('POST', '/api/workspaces/ws_aaaaaaaaaaaaaaaaaaaa/files/mkdir', { path: 'x' }),
          404,
          'not_found',
        ],
      ];
      for (const [name, call, status, code] of cases) {
        const res = await call();
        assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, code, name);
      }
      const text = await rig.http(files('/mkdir'), {
        method: 'POST',
        headers: { authorization: `Bearer ${rig.admin.accessToken}`, 'content-type': 'text/plain' },
        body: 'x',
      });
      assert.equal(text.status, 415);

      const viewer = await rig.member('viewer', `viewer-ops-${kind}@example.com`);
      const denied = await viewer.request('POST', files('/mkdir'), { path: 'v' }, { bearer: true });
      assert.equal(denied.status, 403);
      const other = await rig.member('developer', `dev-ops-${kind}@example.com`);
      const hidden = await other.request('DELETE', `${files()}?path=e`, undefined, { bearer: true });
      assert.equal(hidden.status, 404);
      assert.equal(existsSync(join(root, 'v')), false);
    });
  });
}
