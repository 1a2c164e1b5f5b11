/*
 * POST /api/patch/validate and /api/patch/apply against a real edge and a real runner:
 * the patch goes through the runner's confined file layer onto the workspace's files,
 * which these tests then read straight from the host.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { auditEvents } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { multiFileDiff, unifiedDiff } from '../../runners/src/patch/index.ts';
import { type DriverKind, type Rig, startRig } from '../harness/runner-rig.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Every entry under `dir` (links as links, never followed): path → content, 'dir' or '-> target'. */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const rel = prefix + name;
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(full)}`;
    else if (st.isDirectory()) {
      out[rel] = 'dir';
      Object.assign(out, snapshot(full, `${rel}/`));
    } else out[rel] = readFileSync(full, 'utf8');
  }
  return out;
}

function describePatchRoutes(kind: DriverKind, full: boolean) {
  describe(`patch routes (${kind} driver)`, () => {
    let rig: Rig;
    let ws: string;
    let root: string;
    const api = (method: string, path: string, body?: unknown) =>
      rig.admin.request(method, path, body, { bearer: true });
    const apply = (patch: string, expected?: Record<string, string>) =>
      api('POST', '/api/patch/apply', { workspaceId: ws, patch, ...(expected ? { expected } : {}) });
    const validate = (patch: string) => api('POST', '/api/patch/validate', { workspaceId: ws, patch });
    async function put(path: string, content: string) {
      const res = await api('PUT', `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`, {
        content,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.sha256 as string;
    }
    async function fresh(dir: string, files: Record<string, string>) {
      rmSync(join(root, dir), { recursive: true, force: true });
      for (const [path, content] of Object.entries(files)) await put(`${dir}/${path}`, content);
    }

    before(async () => {
      rig = await startRig(kind);
      const created = await api('POST', '/api/workspaces', { name: 'patches' });
      ws = created.body.id;
      await rig.waitForStatus(rig.admin, ws, 'running');
      root = await rig.driver.workspaceRoot(ws);
    });
    after(() => rig.close());

    test('a multi-file patch creates, modifies, deletes and renames at once, and is audited by hash', async () => {
      await fresh('m', {
        'src/a.ts': 'export const a = 1;\n',
        'gone.txt': 'bye\n',
        'old/name.txt': 'keep me\n',
      });
      // Listed first, so the cached tree must be dropped by the apply.
      const before = await api('GET', `/api/workspaces/${ws}/files/tree?path=m`);
      assert.deepEqual(before.body.entries.map((e: { name: string }) => e.name).sort(), [
        'gone.txt',
        'old',
        'src',
      ]);
      const patch = multiFileDiff([
        { path: 'm/src/a.ts', oldText: 'export const a = 1;\n', newText: 'export const a = 2;\n' },
        { path: 'm/new/deep/file.ts', oldText: null, newText: 'fresh\n' },
        { path: 'm/gone.txt', oldText: 'bye\n', newText: null },
        { path: 'm/moved/name.txt', oldPath: 'm/old/name.txt', oldText: 'keep me\n', newText: 'kept\n' },
      ]);

      const checked = await validate(patch);
      assert.equal(checked.status, 200, JSON.stringify(checked.body));
      assert.equal(checked.body.ok, true);
      assert.deepEqual(
        checked.body.files.map((f: { path: string; baseSha256: string | null; applies: boolean }) => [
          f.path,
          f.baseSha256,
          f.applies,
        ]),
        [
          ['m/src/a.ts', sha('export const a = 1;\n'), true],
          ['m/new/deep/file.ts', null, true],
          ['m/gone.txt', sha('bye\n'), true],
          ['m/moved/name.txt', sha('keep me\n'), true],
        ],
      );
      assert.equal(snapshot(root)['m/src/a.ts'], 'export const a = 1;\n', 'validate writes nothing');

      const applied = await apply(patch, { 'm/src/a.ts': sha('export const a = 1;\n') });
      assert.equal(applied.status, 200, JSON.stringify(applied.body));
      assert.deepEqual(applied.body.files, [
        { path: 'm/src/a.ts', action: 'modified', sha256: sha('export const a = 2;\n') },
        { path: 'm/new/deep/file.ts', action: 'created', sha256: sha('fresh\n') },
        { path: 'm/gone.txt', action: 'deleted', sha256: null },
        { path: 'm/moved/name.txt', action: 'renamed', sha256: sha('kept\n'), from: 'm/old/name.txt' },
      ]);
      const files = snapshot(join(root, 'm'));
      assert.deepEqual(files, {
        moved: 'dir',
        'moved/name.txt': 'kept\n',
        new: 'dir',
        'new/deep': 'dir',
        'new/deep/file.ts': 'fresh\n',
        old: 'dir',
        src: 'dir',
        'src/a.ts': 'export const a = 2;\n',
      });
      const after = await api('GET', `/api/workspaces/${ws}/files/tree?path=m`);
      assert.deepEqual(after.body.entries.map((e: { name: string }) => e.name).sort(), [
        'moved',
        'new',
        'old',
        'src',
      ]);

      const [event] = await rig.app.services.db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.action, 'patch.apply'), eq(auditEvents.workspaceId, ws)));
      assert.equal(event?.outcome, 'success');
      assert.deepEqual(event?.metadata, {
        diffSha256: sha(patch),
        diffBytes: Buffer.byteLength(patch),
        expectedFiles: 1,
        files: 4,
        created: 1,
        modified: 1,
        deleted: 1,
        renamed: 1,
        bytesWritten: Buffer.byteLength('export const a = 2;\nfresh\nkept\n'),
      });
      assert.doesNotMatch(JSON.stringify(event), /export const|keep me|fresh/, 'no text in the audit row');
    });

    test('a patch through a symlink that points out is refused, and nothing outside changes', async () => {
      const outside = join(tmpdir(), `keel-outside-${process.pid}-${kind}`);
      rmSync(outside, { recursive: true, force: true });
      mkdirSync(outside);
      await fresh('s', { 'ok.txt': 'one\n' });
      symlinkSync(join(outside, 'target.txt'), join(root, 's/link.txt'));
      symlinkSync(outside, join(root, 's/dirlink'));
      const patches = [
        unifiedDiff('s/link.txt', null, 'pwned\n'),
        unifiedDiff('s/dirlink/new.txt', null, 'pwned\n'),
        multiFileDiff([
          { path: 's/ok.txt', oldText: 'one\n', newText: 'two\n' },
          { path: 's/dirlink/x.txt', oldText: null, newText: 'pwned\n' },
        ]),
      ];
      const before = snapshot(root);
      for (const patch of patches) {
        for (const send of [validate, apply]) {
          const res = await send(patch);
          assert.equal(res.status, 422, `${patch}\n${JSON.stringify(res.body)}`);
          assert.equal(res.body.error.code, 'invalid_patch');
          assert.match(res.body.error.issues[0].path, /link/);
        }
      }
      assert.deepEqual(snapshot(root), before);
      assert.deepEqual(readdirSync(outside), []);
      rmSync(outside, { recursive: true, force: true });
    });

    if (!full) return;

    test('a stale base is a 409 naming the files, and every file is left as it was', async () => {
      await fresh('c', { 'a.txt': 'a1\n', 'b.txt': 'b1\n', 'c.txt': 'c1\n' });
      const patch = multiFileDiff([
        { path: 'c/a.txt', oldText: 'a1\n', newText: 'a2\n' },
        { path: 'c/b.txt', oldText: 'b1\n', newText: 'b2\n' },
        { path: 'c/c.txt', oldText: 'c1\n', newText: null },
        { path: 'c/d.txt', oldText: null, newText: 'd\n' },
      ]);
      await put('c/b.txt', 'b changed\n');
      const before = snapshot(root);

      const stale = await apply(patch);
      assert.equal(stale.status, 409, JSON.stringify(stale.body));
      assert.equal(stale.body.error.code, 'conflict');
      assert.deepEqual(
        stale.body.error.issues.map((i: { path: string }) => i.path),
        ['c/b.txt'],
      );
      assert.match(stale.body.error.issues[0].message, /hunk 1/);
      assert.deepEqual(snapshot(root), before);

      const report = await validate(patch);
      assert.equal(report.status, 200);
      assert.equal(report.body.ok, false);
      assert.deepEqual(
        report.body.files
          .filter((f: { applies: boolean }) => !f.applies)
          .map((f: { path: string }) => f.path),
        ['c/b.txt'],
      );

      // The hunks of this one still apply; the hash the client saw does not match.
      const fits = unifiedDiff('c/a.txt', 'a1\n', 'a2\n');
      const mismatch = await apply(fits, { 'c/a.txt': sha('something else\n'), 'c/c.txt': sha('c1\n') });
      assert.equal(mismatch.status, 409);
      assert.deepEqual(
        mismatch.body.error.issues.map((i: { path: string }) => i.path),
        ['c/a.txt'],
      );
      assert.deepEqual(snapshot(root), before);

      const failed = await rig.app.services.db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.action, 'patch.apply'), eq(auditEvents.outcome, 'failure')));
      const conflicts = failed.filter((e) => (e.metadata as { error?: string }).error === 'conflict');
      assert.deepEqual(
        conflicts.map((e) => (e.metadata as { files: number }).files),
        [1, 1],
        'each refused apply is one audit event naming how many files were at fault',
      );
    });

    test('a malformed, empty or escaping patch is a 422 and writes nothing', async () => {
      await fresh('v', { 'a.txt': 'one\ntwo\n' });
      const header = 'diff --git a/v/a.txt b/v/a.txt\n--- a/v/a.txt\n+++ b/v/a.txt\n';
      const cases: Record<string, string> = {
        'wrong hunk counts': `${header}@@ -1,3 +1,2 @@\n-one\n+uno\n two\n`,
        'a bare @@': `${header}@@\n-one\n+uno\n`,
        'a path with ..': unifiedDiff('v/a.txt', 'one\ntwo\n', 'x\n').replaceAll(
          'v/a.txt',
          'v/../../etc/passwd',
        ),
        'an absolute path': '--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root\n+pwned\n',
        'a path into .git':
          'diff --git a/.git/hooks/pre-commit b/.git/hooks/pre-commit\nnew file mode 100755\n' +
          '--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+#!/bin/sh\n',
        'no file at all': '\n',
        'context only': `${header}@@ -1,2 +1,2 @@\n one\n two\n`,
        'a change to the same text': `${header}@@ -1,2 +1,2 @@\n-one\n+one\n two\n`,
        'not a diff': 'hello world\n',
        'a binary patch': 'diff --git a/v/a.bin b/v/a.bin\nGIT binary patch\nliteral 0\n',
      };
      const before = snapshot(root);
      for (const [name, patch] of Object.entries(cases)) {
        for (const send of [validate, apply]) {
          const res = await send(patch);
          assert.equal(res.status, 422, `${name}: ${JSON.stringify(res.body)}`);
          assert.equal(res.body.error.code, 'invalid_patch', name);
          assert.ok(res.body.error.issues.length > 0, name);
          assert.match(res.body.error.requestId, /^req_/, name);
        }
      }
      const badExpected = await apply(unifiedDiff('v/a.txt', 'one\ntwo\n', 'one\n'), {
        '../outside': sha('x'),
      });
      assert.equal(badExpected.status, 422);
      assert.equal(badExpected.body.error.code, 'invalid_patch');
      assert.deepEqual(snapshot(root), before);
    });

    test('bad requests, other people and viewers are answered with the error body', async () => {
      const patch = unifiedDiff('a.txt', null, 'x\n');
      const cases: Array<[string, unknown, number, string]> = [
        ['no workspace', { patch }, 422, 'validation_failed'],
        ['an empty patch', { workspaceId: ws, patch: '' }, 422, 'validation_failed'],
        ['an unknown field', { workspaceId: ws, patch, force: true }, 422, 'validation_failed'],
        [
          'a malformed expected hash',
          { workspaceId: ws, patch, expected: { 'a.txt': 'abc' } },
          422,
          'validation_failed',
        ],
        ['an unknown workspace', { workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa', patch }, 404, 'not_found'],
        ['a malformed workspace id', { workspaceId: '../etc', patch }, 404, 'not_found'],
      ];
      for (const [name, body, status, code] of cases) {
        for (const route of ['validate', 'apply']) {
          const res = await api('POST', `/api/patch/${route}`, body);
          assert.equal(res.status, status, `${route} ${name}: ${JSON.stringify(res.body)}`);
          assert.equal(res.body.error.code, code, `${route} ${name}`);
        }
      }
      const notJson = await rig.http('/api/patch/apply', {
        method: 'POST',
        headers: { authorization: `Bearer ${rig.admin.accessToken}`, 'content-type': 'application/json' },
        body: '{"workspaceId":',
      });
      assert.equal(notJson.status, 400);
      assert.equal((await notJson.json()).error.code, 'invalid_json');
      const anonymous = await rig.http('/api/patch/validate', { method: 'POST' });
      assert.equal(anonymous.status, 401);

      const other = await rig.member('developer', 'dev-patch@example.com');
      const foreign = await other.request(
        'POST',
        '/api/patch/apply',
        { workspaceId: ws, patch },
        { bearer: true },
      );
      assert.equal(foreign.status, 404, 'another member’s workspace is not found');
      const viewer = await rig.member('viewer', 'viewer-patch@example.com');
      const denied = await viewer.request(
        'POST',
        '/api/patch/apply',
        { workspaceId: ws, patch },
        { bearer: true },
      );
      assert.equal(denied.status, 403);
      assert.equal(snapshot(root)['a.txt'], undefined);
    });

    test('a patch racing a files PUT on the same file: exactly one wins, the other is a 409', async () => {
      for (let round = 0; round < 6; round++) {
        const base = `round ${round}\n`;
        const baseSha = await put('race.txt', base);
        const patch = unifiedDiff('race.txt', base, `patched ${round}\n`);
        const [patched, written] = await Promise.all([
          apply(patch, { 'race.txt': baseSha }),
          api('PUT', `/api/workspaces/${ws}/files?path=race.txt`, {
            content: `put ${round}\n`,
            baseSha256: baseSha,
          }),
        ]);
        const statuses = [patched.status, written.status].sort();
        assert.deepEqual(statuses, [200, 409], JSON.stringify([patched.body, written.body]));
        const winner = patched.status === 200 ? `patched ${round}\n` : `put ${round}\n`;
        assert.equal(readFileSync(join(root, 'race.txt'), 'utf8'), winner);
      }
      // No half-written or staged files are left beside it.
      assert.deepEqual(
        readdirSync(root).filter((n) => n.includes('keel')),
        [],
      );
    });
  });
}

describePatchRoutes('process', true);
// The same runner code drives both; on Docker one apply and one escape attempt show the wiring.
describePatchRoutes('docker', false);
