import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyToText,
  multiFileDiff,
  PatchInputError,
  parsePatch,
  planPatch,
  sha256,
  unifiedDiff,
} from '../../runners/src/patch/index.ts';

function roundTrip(oldText: string | null, newText: string | null, path = 'f.txt') {
  const diff = unifiedDiff(path, oldText, newText);
  if (oldText === newText) {
    assert.equal(diff, '');
    return;
  }
  const { files } = parsePatch(diff);
  assert.equal(files.length, 1);
  assert.equal(applyToText(oldText ?? '', files[0]!), newText ?? '', diff);
}

describe('unifiedDiff', () => {
  it('writes a git-style diff with a/ b/ prefixes', () => {
    assert.equal(
      unifiedDiff('src/a.ts', 'one\ntwo\n', 'one\n2\n'),
      [
        'diff --git a/src/a.ts b/src/a.ts',
        '--- a/src/a.ts',
        '+++ b/src/a.ts',
        '@@ -1,2 +1,2 @@',
        ' one',
        '-two',
        '+2',
        '',
      ].join('\n'),
    );
  });

  it('writes creates, deletes and renames with git headers', () => {
    assert.equal(
      unifiedDiff('bin/x', null, 'x\n', { mode: 0o755 }),
      'diff --git a/bin/x b/bin/x\nnew file mode 100755\n--- /dev/null\n+++ b/bin/x\n@@ -0,0 +1,1 @@\n+x\n',
    );
    assert.equal(unifiedDiff('e', null, ''), 'diff --git a/e b/e\nnew file mode 100644\n');
    assert.equal(
      unifiedDiff('d', 'x\n', null),
      'diff --git a/d b/d\ndeleted file mode 100644\n--- a/d\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-x\n',
    );
    assert.equal(
      unifiedDiff('to', 's\n', 's\n', { oldPath: 'from' }),
      'diff --git a/from b/to\nrename from from\nrename to to\n',
    );
  });

  it('returns an empty string when nothing changes', () => {
    assert.equal(unifiedDiff('f', 'same\n', 'same\n'), '');
    assert.equal(multiFileDiff([]), '');
    assert.deepEqual(parsePatch(''), { files: [] });
  });

  it('round-trips the awkward cases exactly', () => {
    const cases: [string | null, string | null][] = [
      ['', 'x'],
      ['x', ''],
      ['', '\n'],
      ['\n', ''],
      ['\n\n\n', '\n'],
      ['a', 'a\n'],
      ['a\n', 'a'],
      ['a', 'b'],
      ['a\r\nb\r\n', 'a\r\nc\r\n'],
      ['a\r\nb', 'a\r\nb\r\n'],
      ['a\nb\r\nc', 'a\r\nb\nc\r'],
      ['\r', '\r\n'],
      ['ü\n😀\n', '😀\nü'],
      ['\ufeffbom\n', 'bom\n'],
      ['--- a/x\n+++ b/x\n', '@@ -1 +1 @@\n\\ No newline at end of file\n'],
      ['diff --git a/x b/x\n', 'diff --git a/y b/y\n'],
      [null, ''],
      [null, 'new'],
      ['old', null],
      ['', null],
      ['x\n'.repeat(50), `${'x\n'.repeat(25)}y\n${'x\n'.repeat(25)}`],
    ];
    for (const [o, n] of cases) roundTrip(o, n);
    roundTrip('a\n', 'b\n', 'ünï/çødé "q".txt');
    roundTrip('a\n', 'b\n', 'x b/y b/z');
  });

  it('refuses unsafe paths and impossible changes', () => {
    for (const p of ['../x', '/etc/passwd', 'a\\b', '', 'x\0', '.git/config']) {
      assert.throws(() => unifiedDiff(p, 'a', 'b'), PatchInputError, p);
    }
    assert.throws(() => unifiedDiff('x', null, null), PatchInputError);
    assert.throws(() => unifiedDiff('x', null, 'a', { oldPath: 'y' }), PatchInputError);
  });
});

describe('multiFileDiff', () => {
  it('concatenates file diffs that plan back to the new workspace', async () => {
    const ws: Record<string, string> = { 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.txt': 'c\n' };
    const diff = multiFileDiff([
      { path: 'a.txt', oldText: 'a\n', newText: 'A\n' },
      { path: 'b.txt', oldText: 'b\n', newText: null },
      { path: 'moved/c.txt', oldPath: 'c.txt', oldText: 'c\n', newText: 'C' },
      { path: 'n.txt', oldText: null, newText: 'n\n' },
    ]);
    const plan = await planPatch(parsePatch(diff), (p) => {
      const content = ws[p];
      return content === undefined ? undefined : { content, sha256: sha256(content) };
    });
    assert.ok(plan.ok);
    const after = { ...ws };
    for (const w of plan.writes) {
      if (w.op === 'write') after[w.path] = w.content;
      else delete after[w.path];
    }
    assert.deepEqual(after, { 'a.txt': 'A\n', 'moved/c.txt': 'C', 'n.txt': 'n\n' });
  });

  it('refuses a path named by two changes', () => {
    assert.throws(
      () =>
        multiFileDiff([
          { path: 'a', oldText: 'x', newText: 'y' },
          { path: 'b', oldPath: 'a', oldText: 'x', newText: 'x' },
        ]),
      PatchInputError,
    );
  });
});
