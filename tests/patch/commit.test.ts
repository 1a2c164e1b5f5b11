import assert from 'node:assert/strict';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ConfinedFs } from '../../runners/src/files/confined-fs.ts';
import {
  commitPatch,
  confinedPatchFs,
  multiFileDiff,
  PatchCommitError,
  PatchConflict,
  PatchParseError,
  sha256,
  unifiedDiff,
} from '../../runners/src/patch/index.ts';
import { MemFs } from './memfs.ts';

const START = {
  'src/a.ts': 'export const a = 1;\n',
  'bin/run.sh': { text: '#!/bin/sh\necho old\n', mode: 0o755 },
  'gone.txt': 'bye\n',
  'old/name.txt': 'keep me\n',
};

/** Touches every kind of change: modify (keeping a mode), create in new dirs, delete, rename. */
const PATCH = multiFileDiff([
  { path: 'src/a.ts', oldText: 'export const a = 1;\n', newText: 'export const a = 2;\n' },
  { path: 'bin/run.sh', oldText: '#!/bin/sh\necho old\n', newText: '#!/bin/sh\necho new\n' },
  { path: 'new/deep/file.ts', oldText: null, newText: 'fresh\n' },
  { path: 'gone.txt', oldText: 'bye\n', newText: null },
  { path: 'moved/name.txt', oldPath: 'old/name.txt', oldText: 'keep me\n', newText: 'kept\n' },
]);

describe('commitPatch on an in-memory fs', () => {
  it('applies every file, keeps modes, and leaves no temp files', async () => {
    const fs = new MemFs(START);
    const { plan, leftovers } = await commitPatch(fs, PATCH);
    assert.ok(plan.ok);
    assert.deepEqual(leftovers, []);
    assert.deepEqual([...fs.files.keys()].sort(), [
      'bin/run.sh',
      'moved/name.txt',
      'new/deep/file.ts',
      'src/a.ts',
    ]);
    assert.equal(fs.text('src/a.ts'), 'export const a = 2;\n');
    assert.equal(fs.text('bin/run.sh'), '#!/bin/sh\necho new\n');
    assert.equal(fs.files.get('bin/run.sh')!.mode, 0o755);
    assert.equal(fs.text('new/deep/file.ts'), 'fresh\n');
    assert.equal(fs.text('moved/name.txt'), 'kept\n');
  });

  it('leaves the workspace untouched whichever write fails', async () => {
    const probe = new MemFs(START);
    await commitPatch(probe, PATCH);
    const total = probe.writes;
    const backups = 4; // removed after the commit point: modify ×2, delete, rename
    assert.equal(total, 16);
    for (let n = 1; n <= total; n++) {
      const fs = new MemFs(START);
      const before = fs.snapshot();
      fs.failAt = n;
      const outcome = await commitPatch(fs, PATCH).catch((e: unknown) => e);
      if (n > total - backups) {
        // Cleanup after the commit point: the patch stands, the stray backup is reported.
        assert.ok(!(outcome instanceof Error), `write ${n}: ${String(outcome)}`);
        assert.match(
          (outcome as { leftovers: string[] }).leftovers.join(),
          /^[^,]*\.keel-patch-[^,]*\.orig$/,
        );
        continue;
      }
      assert.ok(outcome instanceof PatchCommitError, `write ${n}: ${String(outcome)}`);
      assert.equal(outcome.rolledBack, true, outcome.message);
      assert.deepEqual(outcome.leftovers, []);
      assert.match(outcome.message, /injected failure/);
      assert.equal(fs.snapshot(), before, `workspace changed after failing write ${n}`);
    }
  });

  it('says so when the rollback itself fails', async () => {
    const fs = new MemFs(START);
    fs.failFrom = 9;
    const err = await commitPatch(fs, PATCH).catch((e: unknown) => e);
    assert.ok(err instanceof PatchCommitError);
    assert.equal(err.rolledBack, false);
    assert.ok(err.leftovers.length > 0);
    assert.match(err.message, /rollback incomplete/);
  });

  it('writes nothing when a file conflicts or a base hash is not the expected one', async () => {
    const fs = new MemFs(START);
    const stale = unifiedDiff('src/a.ts', 'export const a = 0;\n', 'x\n');
    await assert.rejects(commitPatch(fs, PATCH + stale), PatchParseError);
    await assert.rejects(commitPatch(fs, unifiedDiff('gone.txt', null, 'x\n')), PatchConflict);
    await assert.rejects(
      commitPatch(fs, PATCH, { expected: { 'src/a.ts': sha256('something else') } }),
      (err) => {
        assert.ok(err instanceof PatchConflict);
        assert.equal(err.conflicts[0]!.path, 'src/a.ts');
        assert.match(err.conflicts[0]!.reason, /not the expected base/);
        return true;
      },
    );
    assert.equal(fs.writes, 0);
    const ok = await commitPatch(fs, PATCH, {
      expected: { 'src/a.ts': sha256('export const a = 1;\n'), 'new/deep/file.ts': null },
    });
    assert.ok(ok.plan.ok);
  });

  it('notices a file changed between planning and switching, and puts everything back', async () => {
    const fs = new MemFs(START);
    fs.afterRename = (from, to) => {
      // A concurrent writer got to bin/run.sh after it was read for the plan.
      if (from === 'bin/run.sh') fs.files.set(to, { data: Buffer.from('edited by someone\n'), mode: 0o755 });
    };
    const err = await commitPatch(fs, PATCH).catch((e: unknown) => e);
    assert.ok(err instanceof PatchConflict, String(err));
    assert.match(err.message, /changed while the patch was being applied/);
    fs.afterRename = undefined;
    assert.equal(fs.text('bin/run.sh'), 'edited by someone\n');
    assert.equal(fs.text('src/a.ts'), 'export const a = 1;\n');
    assert.deepEqual([...fs.files.keys()].sort(), ['bin/run.sh', 'gone.txt', 'old/name.txt', 'src/a.ts']);
    assert.deepEqual([...fs.dirs].sort(), ['bin', 'old', 'src']);
  });
});

describe('commitPatch through ConfinedFs', () => {
  let base: string;
  let root: string;
  let outside: string;
  let fs: ReturnType<typeof confinedPatchFs>;

  before(() => {
    base = mkdtempSync(path.join(tmpdir(), 'keel-patch-commit-'));
    root = path.join(base, 'ws');
    outside = path.join(base, 'outside');
    fs = confinedPatchFs(new ConfinedFs(root));
  });
  after(() => rmSync(base, { recursive: true, force: true }));
  beforeEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret'), 'SECRET\n');
    for (const [p, f] of Object.entries(START)) {
      const { text, mode } = typeof f === 'string' ? { text: f, mode: 0o644 } : f;
      mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
      writeFileSync(path.join(root, p), text, { mode });
    }
    symlinkSync('../outside', path.join(root, 'out'));
  });

  const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

  it('applies a multi-file patch on disk, keeping the mode of rewritten files', async () => {
    const { leftovers } = await commitPatch(fs, PATCH);
    assert.deepEqual(leftovers, []);
    assert.equal(read('src/a.ts'), 'export const a = 2;\n');
    assert.equal(statSync(path.join(root, 'bin/run.sh')).mode & 0o777, 0o755);
    assert.equal(read('new/deep/file.ts'), 'fresh\n');
    assert.equal(read('moved/name.txt'), 'kept\n');
    assert.deepEqual(readdirSync(path.join(root, 'old')), []);
    assert.ok(!readdirSync(root).includes('gone.txt'));
    const hidden = readdirSync(root, { recursive: true }).filter((n) => String(n).includes('keel-'));
    assert.deepEqual(hidden, []);
  });

  it('refuses paths through a symlink out of the workspace, writing nothing', async () => {
    const patch =
      unifiedDiff('src/a.ts', 'export const a = 1;\n', 'x\n') + unifiedDiff('out/pwned', null, 'x\n');
    await assert.rejects(commitPatch(fs, patch), (err) => {
      assert.ok(err instanceof PatchConflict);
      assert.match(err.message, /symbolic link/);
      return true;
    });
    const overwrite = unifiedDiff('out/secret', 'SECRET\n', 'owned\n');
    await assert.rejects(commitPatch(fs, overwrite), PatchConflict);
    assert.deepEqual(readdirSync(outside), ['secret']);
    assert.equal(readFileSync(path.join(outside, 'secret'), 'utf8'), 'SECRET\n');
    assert.equal(read('src/a.ts'), 'export const a = 1;\n');
  });

  it('refuses hard-linked and non-UTF-8 files', async () => {
    linkSync(path.join(outside, 'secret'), path.join(root, 'hard'));
    await assert.rejects(commitPatch(fs, unifiedDiff('hard', 'SECRET\n', 'owned\n')), /hard link/);
    writeFileSync(path.join(root, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    await assert.rejects(
      commitPatch(fs, unifiedDiff('latin1.txt', 'caf\uFFFD\n', 'cafe\n')),
      /not UTF-8 text/,
    );
    assert.equal(readFileSync(path.join(outside, 'secret'), 'utf8'), 'SECRET\n');
  });
});
