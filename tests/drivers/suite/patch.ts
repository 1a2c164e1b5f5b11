/*
 * POST /api/patch/validate and /api/patch/apply on a workspace of the target's driver: the patch
 * goes through the runner's confined file layer (`driver.files`), which these tests then read
 * back through the same interface. Malformed patches and refused requests, which the edge answers
 * alike whatever the driver, are in tests/patch/routes.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { auditEvents } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { ConfinedFsError } from '../../../runners/src/files/confined-fs.ts';
import type { WorkspaceFiles } from '../../../runners/src/files/workspace-files.ts';
import { multiFileDiff, unifiedDiff } from '../../../runners/src/patch/index.ts';
import type { Rig } from '../../harness/runner-rig.ts';
import { runningWorkspace, runOutput } from './api.ts';
import type { Stand } from './stand.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

export function patchSuite(stand: Stand): void {
  describe('patch routes (API, edge and runner)', () => {
    let rig: Rig;
    let ws: string;
    let fs: WorkspaceFiles;
    const files = () => fs;
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
    async function fresh(dir: string, contents: Record<string, string>) {
      await fs.remove(dir, { recursive: true }).catch((err) => {
        if (!(err instanceof ConfinedFsError && err.code === 'NOT_FOUND')) throw err;
      });
      for (const [path, content] of Object.entries(contents)) await put(`${dir}/${path}`, content);
    }
    /** Every entry under `dir` (links as links, never followed): path → content, 'dir' or 'symlink'. */
    async function snapshot(dir = ''): Promise<Record<string, string>> {
      const out: Record<string, string> = {};
      const { entries, truncated } = await fs.tree(dir);
      assert.equal(truncated, false);
      for (const e of entries.sort((a, b) => (a.path < b.path ? -1 : 1))) {
        const rel = dir ? e.path.slice(dir.length + 1) : e.path;
        if (e.type === 'file') out[rel] = (await fs.readFile(e.path)).toString();
        else out[rel] = e.type === 'directory' ? 'dir' : e.type;
      }
      return out;
    }

    before(async () => {
      rig = await stand.rig();
      ws = await runningWorkspace(rig, 'patches');
      fs = await rig.driver.files(ws);
    });

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
      assert.equal((await snapshot())['m/src/a.ts'], 'export const a = 1;\n', 'validate writes nothing');

      const applied = await apply(patch, { 'm/src/a.ts': sha('export const a = 1;\n') });
      assert.equal(applied.status, 200, JSON.stringify(applied.body));
      assert.deepEqual(applied.body.files, [
        { path: 'm/src/a.ts', action: 'modified', sha256: sha('export const a = 2;\n') },
        { path: 'm/new/deep/file.ts', action: 'created', sha256: sha('fresh\n') },
        { path: 'm/gone.txt', action: 'deleted', sha256: null },
        { path: 'm/moved/name.txt', action: 'renamed', sha256: sha('kept\n'), from: 'm/old/name.txt' },
      ]);
      const files = await snapshot('m');
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
      // Outside on this machine and at the same path inside the workload: hostile from either side.
      const outside = mkdtempSync(join(tmpdir(), 'keel-outside-'));
      await fresh('s', { 'ok.txt': 'one\n' });
      const made = await runOutput(
        rig,
        ws,
        `mkdir -p ${outside} && ln -s ${outside}/target.txt s/link.txt && ln -s ${outside} s/dirlink && echo ok`,
      );
      assert.equal(made.stdout, 'ok\n');
      const patches = [
        unifiedDiff('s/link.txt', null, 'pwned\n'),
        unifiedDiff('s/dirlink/new.txt', null, 'pwned\n'),
        multiFileDiff([
          { path: 's/ok.txt', oldText: 'one\n', newText: 'two\n' },
          { path: 's/dirlink/x.txt', oldText: null, newText: 'pwned\n' },
        ]),
      ];
      const before = await snapshot();
      for (const patch of patches) {
        for (const send of [validate, apply]) {
          const res = await send(patch);
          assert.equal(res.status, 422, `${patch}\n${JSON.stringify(res.body)}`);
          assert.equal(res.body.error.code, 'invalid_patch');
          assert.match(res.body.error.issues[0].path, /link/);
        }
      }
      assert.deepEqual(await snapshot(), before);
      assert.deepEqual(readdirSync(outside), []);
      assert.equal(
        (await runOutput(rig, ws, `ls -A ${outside}`)).stdout,
        '',
        'nothing outside, inside the workload',
      );
      rmSync(outside, { recursive: true, force: true });
    });

    test('a stale base is a 409 naming the files, and every file is left as it was', async () => {
      await fresh('c', { 'a.txt': 'a1\n', 'b.txt': 'b1\n', 'c.txt': 'c1\n' });
      const patch = multiFileDiff([
        { path: 'c/a.txt', oldText: 'a1\n', newText: 'a2\n' },
        { path: 'c/b.txt', oldText: 'b1\n', newText: 'b2\n' },
        { path: 'c/c.txt', oldText: 'c1\n', newText: null },
        { path: 'c/d.txt', oldText: null, newText: 'd\n' },
      ]);
      await put('c/b.txt', 'b changed\n');
      const before = await snapshot();

      const stale = await apply(patch);
      assert.equal(stale.status, 409, JSON.stringify(stale.body));
      assert.equal(stale.body.error.code, 'conflict');
      assert.deepEqual(
        stale.body.error.issues.map((i: { path: string }) => i.path),
        ['c/b.txt'],
      );
      assert.match(stale.body.error.issues[0].message, /hunk 1/);
      assert.deepEqual(await snapshot(), before);

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
      assert.deepEqual(await snapshot(), before);

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
        assert.equal((await files().readFile('race.txt')).toString(), winner);
      }
      // No half-written or staged files are left beside it.
      assert.deepEqual(
        (await files().listDir('')).map((e) => e.name).filter((n) => n.includes('keel')),
        [],
      );
    });
  });
}
