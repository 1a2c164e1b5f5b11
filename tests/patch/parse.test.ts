import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PatchParseError, parsePatch } from '../../runners/src/patch/index.ts';

const lines = (...ls: string[]) => `${ls.join('\n')}\n`;

/** Asserts the patch is refused at `line` with a reason matching `reason`. */
function rejects(text: string, line: number, reason: RegExp, file?: string | null) {
  assert.throws(
    () => parsePatch(text),
    (err: unknown) => {
      assert.ok(err instanceof PatchParseError, `not a PatchParseError: ${String(err)}`);
      assert.match(err.reason, reason);
      assert.equal(err.line, line, `line of: ${err.message}`);
      if (file !== undefined) assert.equal(err.file, file);
      assert.equal(err.code, 'PATCH_MALFORMED');
      return true;
    },
  );
}

const MODIFY = lines(
  'diff --git a/src/a.ts b/src/a.ts',
  'index 83db48f..bf269f4 100644',
  '--- a/src/a.ts',
  '+++ b/src/a.ts',
  '@@ -1,3 +1,3 @@ export function a() {',
  ' one',
  '-two',
  '+TWO',
  ' three',
  '@@ -10,2 +10,3 @@',
  ' ten',
  '+ten and a half',
  ' eleven',
);

describe('parsePatch: accepted forms', () => {
  it('reads a git modify with an index line, section text and two hunks', () => {
    const { files } = parsePatch(MODIFY);
    assert.equal(files.length, 1);
    const f = files[0]!;
    assert.equal(f.kind, 'modify');
    assert.equal(f.oldPath, 'src/a.ts');
    assert.equal(f.newPath, 'src/a.ts');
    assert.equal(f.hunks.length, 2);
    const [h1, h2] = f.hunks;
    assert.deepEqual(
      { ...h1, lines: undefined },
      {
        oldStart: 1,
        oldLines: 3,
        newStart: 1,
        newLines: 3,
        section: 'export function a() {',
        lines: undefined,
        patchLine: 5,
      },
    );
    assert.deepEqual(h1!.lines, [
      { op: ' ', text: 'one', noNewline: false },
      { op: '-', text: 'two', noNewline: false },
      { op: '+', text: 'TWO', noNewline: false },
      { op: ' ', text: 'three', noNewline: false },
    ]);
    assert.equal(h2!.newLines, 3);
  });

  it('reads creates (with mode), empty creates, deletes and renames', () => {
    const { files } = parsePatch(
      lines(
        'diff --git a/bin/run b/bin/run',
        'new file mode 100755',
        'index 0000000..e69de29',
        '--- /dev/null',
        '+++ b/bin/run',
        '@@ -0,0 +1,2 @@',
        '+#!/bin/sh',
        '+echo hi',
        'diff --git a/empty b/empty',
        'new file mode 100644',
        'index 0000000..e69de29',
        'diff --git a/old.txt b/old.txt',
        'deleted file mode 100644',
        '--- a/old.txt',
        '+++ /dev/null',
        '@@ -1 +0,0 @@',
        '-bye',
        'diff --git a/from.ts b/to/there.ts',
        'similarity index 100%',
        'rename from from.ts',
        'rename to to/there.ts',
        'diff --git a/m.ts b/n.ts',
        'similarity index 80%',
        'rename from m.ts',
        'rename to n.ts',
        '--- a/m.ts',
        '+++ b/n.ts',
        '@@ -1 +1 @@',
        '-m',
        '+n',
      ),
    );
    assert.deepEqual(
      files.map((f) => [f.kind, f.oldPath, f.newPath, f.hunks.length]),
      [
        ['create', null, 'bin/run', 1],
        ['create', null, 'empty', 0],
        ['delete', 'old.txt', null, 1],
        ['rename', 'from.ts', 'to/there.ts', 0],
        ['rename', 'm.ts', 'n.ts', 1],
      ],
    );
    assert.equal(files[0]!.kind === 'create' && files[0]!.mode, 0o755);
    assert.equal(files[1]!.kind === 'create' && files[1]!.mode, 0o644);
  });

  it('reads plain ---/+++ diffs, with timestamps after a tab and /dev/null', () => {
    const { files } = parsePatch(
      lines(
        '--- a/x.txt\t2024-01-01 00:00:00.000000000 +0000',
        '+++ b/x.txt\t2024-01-02 00:00:00.000000000 +0000',
        '@@ -1 +1 @@',
        '-a',
        '+b',
        '--- /dev/null',
        '+++ b/new.txt',
        '@@ -0,0 +1 @@',
        '+new',
        '--- a/gone.txt',
        '+++ /dev/null',
        '@@ -1 +0,0 @@',
        '-gone',
      ),
    );
    assert.deepEqual(
      files.map((f) => [f.kind, f.oldPath, f.newPath]),
      [
        ['modify', 'x.txt', 'x.txt'],
        ['create', null, 'new.txt'],
        ['delete', 'gone.txt', null],
      ],
    );
  });

  it('reads quoted names, names with spaces, and the no-newline marker', () => {
    const { files } = parsePatch(
      lines(
        'diff --git "a/d\\303\\251j\\303\\240 vu.txt" "b/d\\303\\251j\\303\\240 vu.txt"',
        '--- "a/d\\303\\251j\\303\\240 vu.txt"',
        '+++ "b/d\\303\\251j\\303\\240 vu.txt"',
        '@@ -1 +1 @@',
        '-x',
        '\\ No newline at end of file',
        '+x',
        'diff --git a/with space/f b.txt b/with space/f b.txt',
        '--- a/with space/f b.txt',
        '+++ b/with space/f b.txt',
        '@@ -1,2 +1,2 @@',
        '',
        '-y',
        '+z',
      ),
    );
    assert.equal(files[0]!.oldPath, 'déjà vu.txt');
    assert.deepEqual(files[0]!.hunks[0]!.lines[0], { op: '-', text: 'x', noNewline: true });
    assert.equal(files[1]!.oldPath, 'with space/f b.txt');
    // A blank line inside a hunk is an empty context line whose space was stripped.
    assert.deepEqual(files[1]!.hunks[0]!.lines[0], { op: ' ', text: '', noNewline: false });
  });

  it('keeps a CR at the end of content lines (CRLF files)', () => {
    const { files } = parsePatch('--- a/w.txt\n+++ b/w.txt\n@@ -1 +1 @@\n-a\r\n+b\r\n');
    assert.deepEqual(
      files[0]!.hunks[0]!.lines.map((l) => l.text),
      ['a\r', 'b\r'],
    );
  });

  it('reads an empty patch as no files', () => {
    assert.deepEqual(parsePatch(''), { files: [] });
  });
});

describe('parsePatch: rejections', () => {
  const file = (...body: string[]) => lines('--- a/f.txt', '+++ b/f.txt', ...body);

  it('rejects a hunk with fewer lines than its header says', () => {
    rejects(
      file('@@ -1,3 +1,3 @@', ' a', '-b', '+c'),
      3,
      /patch ends inside a hunk.*1 old and 1 new/,
      'f.txt',
    );
    rejects(
      lines('--- a/f.txt', '+++ b/f.txt', '@@ -1,2 +1,2 @@', ' a', '@@ -5 +5 @@', '-x', '+y'),
      5,
      /hunk is shorter than its header says/,
    );
  });

  it('rejects a hunk with more lines than its header says', () => {
    rejects(file('@@ -1,2 +1,2 @@', ' a', '-b', '+c', ' d'), 7, /unexpected text after hunk 1/);
    rejects(file('@@ -1,2 +1,1 @@', ' a', '+c', '-b'), 5, /more new lines than its header says/);
    rejects(file('@@ -1 +1,2 @@', '-a', '-b', '+c'), 5, /more old lines than its header says/);
  });

  it('rejects a bare or malformed @@', () => {
    rejects(file('@@', '-a'), 3, /bare "@@"/);
    rejects(file('@@ -1,x +1 @@', '-a'), 3, /malformed hunk header/);
    rejects(file('@@ -1 +1', '-a', '+b'), 3, /malformed hunk header/);
    rejects(file('@@ -0,1 +0,1 @@', '-a', '+b'), 3, /old start 0 with a non-empty old range/);
    rejects(file('@@ -1,0 +1,0 @@'), 3, /empty hunk/);
  });

  it('rejects overlapping and out-of-order hunks', () => {
    rejects(
      file('@@ -1,2 +1,2 @@', ' a', ' b', '@@ -2,1 +2,1 @@', '-b', '+c'),
      6,
      /overlaps the previous hunk/,
    );
    rejects(file('@@ -5 +5 @@', '-a', '+b', '@@ -1 +1 @@', '-c', '+d'), 6, /out of order/);
  });

  it('rejects a new start that does not follow from the old start', () => {
    rejects(file('@@ -3 +4 @@', '-a', '+b'), 3, /new start 4 .*expected 3/);
    rejects(file('@@ -1 +1,2 @@', '-a', '+b', '+c', '@@ -5 +5 @@', '-x', '+y'), 7, /expected 6/);
  });

  it('rejects absolute paths', () => {
    rejects(lines('--- /etc/passwd', '+++ b/etc/passwd', '@@ -1 +1 @@', '-a', '+b'), 1, /absolute path/);
    rejects(lines('--- a//etc/passwd', '+++ b//etc/passwd', '@@ -1 +1 @@', '-a', '+b'), 1, /absolute path/);
    rejects(
      lines('diff --git a/x b/y', 'rename from /etc/passwd', 'rename to y'),
      2,
      /absolute path: "?\/etc\/passwd/,
    );
  });

  it("rejects paths with '..' segments, however they are spelled", () => {
    rejects(lines('--- a/../../x', '+++ b/../../x', '@@ -1 +1 @@', '-a', '+b'), 1, /'\.\.' segment/);
    rejects(lines('--- a/ok/../../x', '+++ b/ok/../../x', '@@ -1 +1 @@', '-a', '+b'), 1, /'\.\.' segment/);
    rejects(lines('diff --git a/x b/y', 'rename from x', 'rename to ../y'), 3, /'\.\.' segment/);
    rejects(
      lines('diff --git "a/\\056\\056/x" "b/\\056\\056/x"', 'new file mode 100644'),
      1,
      /'\.\.' segment/,
    );
  });

  it('rejects NUL, backslashes, control characters, empty and non-normal paths', () => {
    rejects(lines('--- a/x\0y', '+++ b/x\0y', '@@ -1 +1 @@', '-a', '+b'), 1, /NUL/);
    rejects(lines('diff --git "a/x\\000y" "b/x\\000y"', 'new file mode 100644'), 1, /NUL/);
    rejects(lines('--- a/x\\y', '+++ b/x\\y', '@@ -1 +1 @@', '-a', '+b'), 1, /backslash/);
    rejects(lines('--- a/', '+++ b/', '@@ -1 +1 @@', '-a', '+b'), 1, /empty path/);
    rejects(lines('--- a/x//y', '+++ b/x//y', '@@ -1 +1 @@', '-a', '+b'), 1, /not normalized/);
    rejects(lines('--- a/./y', '+++ b/./y', '@@ -1 +1 @@', '-a', '+b'), 1, /not normalized/);
    rejects(lines('diff --git "a/x\\ny" "b/x\\ny"', 'new file mode 100644'), 1, /control character/);
    rejects(
      lines('--- a/.git/hooks/pre-commit', '+++ b/.git/hooks/pre-commit', '@@ -1 +1 @@', '-a', '+b'),
      1,
      /\.git/,
    );
    rejects(lines('--- x.txt', '+++ x.txt', '@@ -1 +1 @@', '-a', '+b'), 1, /"a\/" prefix/);
  });

  it('rejects a file mentioned twice, also through a rename, or as a directory of another', () => {
    const twice = `${file('@@ -1 +1 @@', '-a', '+b')}${file('@@ -3 +3 @@', '-c', '+d')}`;
    rejects(twice, 6, /mentioned twice \(first at line 1\)/, 'f.txt');
    rejects(
      lines(
        'diff --git a/f.txt b/g.txt',
        'rename from f.txt',
        'rename to g.txt',
        'diff --git a/g.txt b/g.txt',
        '--- a/g.txt',
        '+++ b/g.txt',
        '@@ -1 +1 @@',
        '-a',
        '+b',
      ),
      4,
      /mentioned twice/,
    );
    rejects(
      lines('diff --git a/d b/d', 'new file mode 100644', 'diff --git a/d/e b/d/e', 'new file mode 100644'),
      3,
      /inside d, which the patch also names as a file/,
    );
  });

  it('rejects binary patches', () => {
    rejects(
      lines('diff --git a/i.png b/i.png', 'index 1234567..89abcde 100644', 'GIT binary patch', 'literal 5'),
      3,
      /binary/,
    );
    rejects(lines('diff --git a/i.png b/i.png', 'Binary files a/i.png and b/i.png differ'), 2, /binary/);
    rejects(lines('Binary files a/i.png and b/i.png differ'), 1, /binary/);
  });

  it('rejects garbage before, between and after hunks and files', () => {
    rejects(
      lines('hello', ...file('@@ -1 +1 @@', '-a', '+b').trimEnd().split('\n')),
      1,
      /expected a file header/,
    );
    rejects(
      file('@@ -1 +1 @@', '-a', '+b', 'garbage', '@@ -3 +3 @@', '-c', '+d'),
      6,
      /unexpected text after hunk 1/,
    );
    rejects(file('@@ -1 +1 @@', '-a', 'garbage', '+b'), 5, /unexpected line in hunk/);
    rejects(lines('diff --git a/x b/x', 'what is this', '--- a/x'), 2, /unexpected text in file header/);
    rejects(
      file('@@ -1 +1 @@', '-a', '+b', '', '--- a/g', '+++ b/g', '@@ -1 +1 @@', '-a', '+b'),
      6,
      /after hunk 1/,
    );
    rejects(lines('--- a/x', 'garbage'), 2, /"---" not followed by "\+\+\+"/);
    rejects(lines('--- a/x', '+++ b/x'), 1, /file header without hunks/);
    rejects(lines('diff --git a/x b/x', 'index 1234567..89abcde 100644'), 1, /no changes/);
  });

  it('rejects misplaced "\\ No newline at end of file" markers', () => {
    rejects(
      file('@@ -1,2 +1,2 @@', ' a', '\\ No newline at end of file', '-b', '+c'),
      6,
      /after "\\ No newline/,
    );
    rejects(file('@@ -1 +1 @@', '\\ No newline at end of file', '-a', '+b'), 4, /without a line before it/);
    rejects(
      file('@@ -1 +1 @@', '-a', '\\ No newline at end of file', '\\ No newline at end of file', '+b'),
      6,
      /without a line before/,
    );
    rejects(
      file('@@ -1 +1 @@', '-a', '+b', '\\ No newline at end of file', '@@ -3 +3 @@', '-c', '+d'),
      7,
      /hunk after the end of the file/,
    );
  });

  it('rejects CR in headers, lone surrogates, copies, mode changes and symlinks', () => {
    rejects('--- a/x\r\n+++ b/x\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n', 1, /carriage return/);
    rejects(file('@@ -1 +1 @@', '-a\uD800', '+b'), 4, /well-formed Unicode/);
    rejects(lines('diff --git a/x b/y', 'copy from x', 'copy to y'), 2, /copies are not supported/);
    rejects(lines('diff --git a/x b/x', 'old mode 100644', 'new mode 100755'), 2, /mode changes/);
    rejects(
      lines('diff --git a/l b/l', 'new file mode 120000', '--- /dev/null', '+++ b/l', '@@ -0,0 +1 @@', '+t'),
      2,
      /symbolic links/,
    );
    rejects(
      lines(
        'diff --git a/l b/l',
        'index 1234567..89abcde 120000',
        '--- a/l',
        '+++ b/l',
        '@@ -1 +1 @@',
        '-t',
        '+u',
      ),
      2,
      /symbolic links/,
    );
  });

  it('rejects headers that contradict each other', () => {
    rejects(lines('diff --git a/x b/x', '--- a/x', '+++ b/y', '@@ -1 +1 @@', '-a', '+b'), 1, /disagree/);
    rejects(lines('--- a/x', '+++ b/y', '@@ -1 +1 @@', '-a', '+b'), 1, /differ without "rename/);
    rejects(
      lines('diff --git a/x b/x', '--- /dev/null', '+++ b/x', '@@ -0,0 +1 @@', '+a'),
      2,
      /without "new file mode"/,
    );
    rejects(
      lines('diff --git a/x b/x', 'new file mode 100644', 'deleted file mode 100644'),
      1,
      /conflicting headers/,
    );
    rejects(lines('diff --git a/x b/y', 'rename from x'), 1, /must come together/);
    rejects(
      lines(
        'diff --git a/x b/x',
        'new file mode 100644',
        '--- /dev/null',
        '+++ b/x',
        '@@ -1 +1 @@',
        '-a',
        '+b',
      ),
      5,
      /"@@ -0,0"/,
    );
    rejects(lines('diff --git a/x b/x', 'rename from x', 'rename to x'), 3, /rename to the same path/);
  });
});
