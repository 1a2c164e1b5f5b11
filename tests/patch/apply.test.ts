import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyToText,
  PatchConflict,
  parsePatch,
  planPatch,
  type ReadFile,
  sha256,
  unifiedDiff,
} from '../../runners/src/patch/index.ts';

const lines = (...ls: string[]) => `${ls.join('\n')}\n`;
const one = (text: string) => parsePatch(text).files[0]!;

function conflictOf(fn: () => unknown): PatchConflict {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PatchConflict, `not a PatchConflict: ${String(err)}`);
    return err;
  }
  assert.fail('expected a PatchConflict');
}

const reader =
  (files: Record<string, string>): ReadFile =>
  (p) => {
    const content = files[p];
    return content === undefined ? undefined : { content, sha256: sha256(content) };
  };

describe('applyToText', () => {
  const base = lines('one', 'two', 'three', 'four', 'five');

  it('applies hunks at their stated lines', () => {
    const f = one(
      lines('--- a/f', '+++ b/f', '@@ -2 +2 @@', '-two', '+TWO', '@@ -5 +5,2 @@', ' five', '+six'),
    );
    assert.equal(applyToText(base, f), lines('one', 'TWO', 'three', 'four', 'five', 'six'));
  });

  it('allows no offset: the right lines one line off are a conflict', () => {
    const f = one(lines('--- a/f', '+++ b/f', '@@ -3 +3 @@', '-two', '+TWO'));
    const c = conflictOf(() => applyToText(base, f));
    assert.deepEqual(
      c.conflicts.map((x) => [x.path, x.hunk]),
      [['f', 0]],
    );
    assert.match(c.conflicts[0]!.reason, /line 3 differs: expected "two", found "three"/);
  });

  it('reports every conflicting hunk, and hunks past the end', () => {
    const f = one(
      lines(
        '--- a/f',
        '+++ b/f',
        '@@ -1 +1 @@',
        '-uno',
        '+1',
        '@@ -3 +3 @@',
        '-three',
        '+3',
        '@@ -9 +9 @@',
        '-x',
        '+y',
      ),
    );
    const c = conflictOf(() => applyToText(base, f));
    assert.deepEqual(
      c.conflicts.map((x) => x.hunk),
      [0, 2],
    );
    assert.match(c.conflicts[1]!.reason, /past the end of the file \(5 lines\)/);
  });

  it('treats a missing final newline as part of the match', () => {
    const noEol = 'a\nb';
    const withEol = 'a\nb\n';
    const addEol = one(unifiedDiff('f', noEol, withEol));
    assert.equal(applyToText(noEol, addEol), withEol);
    assert.match(conflictOf(() => applyToText(withEol, addEol)).conflicts[0]!.reason, /expects no newline/);
    const dropEol = one(unifiedDiff('f', withEol, noEol));
    assert.equal(applyToText(withEol, dropEol), noEol);
    assert.match(conflictOf(() => applyToText(noEol, dropEol)).conflicts[0]!.reason, /no newline at its end/);
  });

  it('refuses to append after a last line that has no newline', () => {
    const f = one(lines('--- a/f', '+++ b/f', '@@ -2,0 +3 @@', '+c'));
    assert.equal(applyToText('a\nb\n', f), 'a\nb\nc\n');
    conflictOf(() => applyToText('a\nb', f));
  });

  it('matches CRLF lines exactly, CR included', () => {
    const crlf = 'a\r\nb\r\nc\r\n';
    const f = one(unifiedDiff('w.txt', crlf, 'a\r\nB\r\nc\r\n'));
    assert.equal(applyToText(crlf, f), 'a\r\nB\r\nc\r\n');
    const lf = one(unifiedDiff('w.txt', 'a\nb\nc\n', 'a\nB\nc\n'));
    conflictOf(() => applyToText(crlf, lf));
  });

  it('checks that a new file starts empty and a deletion removes everything', () => {
    const create = one(unifiedDiff('n', null, 'x\n'));
    assert.equal(applyToText('', create), 'x\n');
    assert.match(conflictOf(() => applyToText('y\n', create)).conflicts[0]!.reason, /must start empty/);
    const del = one(
      lines(
        'diff --git a/d b/d',
        'deleted file mode 100644',
        '--- a/d',
        '+++ /dev/null',
        '@@ -1 +0,0 @@',
        '-x',
      ),
    );
    assert.equal(applyToText('x\n', del), '');
    assert.match(
      conflictOf(() => applyToText('x\ny\n', del)).conflicts[0]!.reason,
      /content the deletion does not remove/,
    );
  });
});

describe('planPatch', () => {
  const ws = { 'a.txt': 'a\n', 'b.txt': 'b\n', 'c.txt': 'c\n' };

  it('plans modify, create, delete and rename together', async () => {
    const patch = parsePatch(
      unifiedDiff('a.txt', 'a\n', 'A\n') +
        unifiedDiff('new/n.sh', null, 'echo\n', { mode: 0o755 }) +
        unifiedDiff('b.txt', 'b\n', null) +
        unifiedDiff('d/c2.txt', 'c\n', 'c\n', { oldPath: 'c.txt' }),
    );
    const plan = await planPatch(patch, reader(ws));
    assert.ok(plan.ok);
    assert.deepEqual(
      plan.files.map((f) => [f.kind, f.path, f.baseSha256, f.applies]),
      [
        ['modify', 'a.txt', sha256('a\n'), true],
        ['create', 'new/n.sh', null, true],
        ['delete', 'b.txt', sha256('b\n'), true],
        ['rename', 'd/c2.txt', sha256('c\n'), true],
      ],
    );
    assert.deepEqual(plan.writes, [
      { op: 'write', path: 'a.txt', content: 'A\n', sha256: sha256('A\n') },
      { op: 'write', path: 'new/n.sh', content: 'echo\n', sha256: sha256('echo\n'), mode: 0o755 },
      { op: 'remove', path: 'b.txt' },
      { op: 'write', path: 'd/c2.txt', content: 'c\n', sha256: sha256('c\n') },
      { op: 'remove', path: 'c.txt' },
    ]);
  });

  it('reports a create of an existing file, a delete or modify of a missing one, a rename onto a file', async () => {
    const patch = parsePatch(
      unifiedDiff('a.txt', null, 'x\n') +
        unifiedDiff('missing.txt', 'm\n', null) +
        unifiedDiff('gone.txt', 'g\n', 'G\n') +
        unifiedDiff('c.txt', 'b\n', 'b\n', { oldPath: 'b.txt' }),
    );
    const plan = await planPatch(patch, reader(ws));
    assert.equal(plan.ok, false);
    assert.deepEqual(plan.writes, []);
    assert.deepEqual(
      plan.files.map((f) => [f.path, f.applies, f.conflicts]),
      [
        ['a.txt', false, [{ hunk: null, reason: 'a.txt already exists' }]],
        ['missing.txt', false, [{ hunk: null, reason: 'missing.txt does not exist' }]],
        ['gone.txt', false, [{ hunk: null, reason: 'gone.txt does not exist' }]],
        ['c.txt', false, [{ hunk: null, reason: 'c.txt already exists' }]],
      ],
    );
  });

  it('checks expected base hashes, including files the patch does not touch', async () => {
    const patch = parsePatch(unifiedDiff('a.txt', 'a\n', 'A\n') + unifiedDiff('n.txt', null, 'n\n'));
    const good = await planPatch(patch, reader(ws), {
      expected: { 'a.txt': sha256('a\n'), 'n.txt': null, 'c.txt': sha256('c\n') },
    });
    assert.ok(good.ok);
    assert.deepEqual(
      good.files.map((f) => [f.kind, f.path]),
      [
        ['modify', 'a.txt'],
        ['create', 'n.txt'],
        ['verify', 'c.txt'],
      ],
    );
    const stale = await planPatch(patch, reader(ws), {
      expected: { 'a.txt': sha256('old\n'), 'c.txt': sha256('other\n'), '../x': null },
    });
    assert.equal(stale.ok, false);
    assert.deepEqual(stale.writes, []);
    const reasons = stale.files.flatMap((f) => f.conflicts.map((c) => `${f.path}: ${c.reason}`));
    assert.equal(reasons.length, 3);
    assert.match(reasons[0]!, /^a\.txt: a\.txt is not the expected base/);
    assert.match(reasons[1]!, /^c\.txt: c\.txt is not the expected base/);
    assert.match(reasons[2]!, /invalid path/);
  });

  it('turns a reader failure into a conflict', async () => {
    const patch = parsePatch(unifiedDiff('link', 'a\n', 'b\n'));
    const plan = await planPatch(patch, () => {
      throw new Error('refusing to follow a symbolic link: link');
    });
    assert.equal(plan.ok, false);
    assert.match(plan.files[0]!.conflicts[0]!.reason, /symbolic link/);
  });
});
