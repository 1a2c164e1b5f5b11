import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyUnifiedDiff, DiffPreviewError, parseUnifiedDiff } from './unified-diff.ts';

const header = (path: string) => `diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n`;

describe('applyUnifiedDiff', () => {
  test('applies a change in the middle, keeping the lines around it', () => {
    const original = `${['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n')}\n`;
    const diff = `${header('n.txt')}@@ -3,5 +3,6 @@\n 3\n 4\n-5\n+five\n+5½\n 6\n 7\n`;
    assert.equal(applyUnifiedDiff(original, diff, 'n.txt'), '1\n2\n3\n4\nfive\n5½\n6\n7\n8\n9\n10\n');
  });

  test('applies several hunks in order', () => {
    const original = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n';
    const diff = `${header('x')}@@ -1,2 +1,2 @@\n-a\n+A\n b\n@@ -9,3 +9,4 @@\n i\n j\n+j2\n k\n`;
    assert.equal(applyUnifiedDiff(original, diff, 'x'), 'A\nb\nc\nd\ne\nf\ng\nh\ni\nj\nj2\nk\n');
  });

  test('follows the "no newline at end of file" markers on either side', () => {
    // As the runner writes them (jsdiff): the new side loses its final newline…
    const dropped = `${header('src/a.ts')}@@ -1,3 +1,3 @@\n a\n-b\n-c\n+B\n+c\n\\ No newline at end of file\n`;
    assert.equal(applyUnifiedDiff('a\nb\nc\n', dropped, 'src/a.ts'), 'a\nB\nc');
    // …or gains one.
    const added = `${header('src/a.ts')}@@ -1,3 +1,3 @@\n a\n-b\n-c\n\\ No newline at end of file\n+B\n+c\n`;
    assert.equal(applyUnifiedDiff('a\nb\nc', added, 'src/a.ts'), 'a\nB\nc\n');
  });

  test('an empty file filled, and a file emptied', () => {
    assert.equal(applyUnifiedDiff('', `${header('e')}@@ -0,0 +1,1 @@\n+x\n`, 'e'), 'x\n');
    assert.equal(applyUnifiedDiff('x\n', `${header('e')}@@ -1,1 +0,0 @@\n-x\n`, 'e'), '');
  });

  test('inserting after a line (a hunk that removes nothing) and at the end', () => {
    assert.equal(applyUnifiedDiff('a\nb\n', `${header('f')}@@ -1,0 +2,1 @@\n+new\n`, 'f'), 'a\nnew\nb\n');
    assert.equal(applyUnifiedDiff('a\nb\n', `${header('f')}@@ -2,0 +3,1 @@\n+end\n`, 'f'), 'a\nb\nend\n');
  });

  test('CRLF files keep their line ends', () => {
    const diff = `${header('w.txt')}@@ -1,2 +1,2 @@\n-one\r\n+uno\r\n two\r\n`;
    assert.equal(applyUnifiedDiff('one\r\ntwo\r\n', diff, 'w.txt'), 'uno\r\ntwo\r\n');
  });

  test('picks the hunks of the path asked for in a patch of several files', () => {
    const diff = `${header('a')}@@ -1 +1 @@\n-x\n+y\n${header('b')}@@ -1 +1 @@\n-p\n+q\n`;
    assert.equal(applyUnifiedDiff('p\n', diff, 'b'), 'q\n');
    assert.throws(() => applyUnifiedDiff('p\n', diff, 'c'), DiffPreviewError);
  });

  test('a removed line that looks like a header ("--- x") is still part of its hunk', () => {
    const diff = `${header('m.md')}@@ -1,2 +1,1 @@\n title\n---- x\n`;
    assert.equal(applyUnifiedDiff('title\n--- x\n', diff, 'm.md'), 'title\n');
  });

  test('context that does not match, or a hunk past the end, is an error, never a guess', () => {
    const diff = `${header('c')}@@ -1,2 +1,2 @@\n a\n-b\n+B\n`;
    assert.throws(() => applyUnifiedDiff('a\nX\n', diff, 'c'), /Line 2 is not what the change expects/);
    assert.throws(
      () => applyUnifiedDiff('a\n', `${header('c')}@@ -5,1 +5,1 @@\n-e\n+E\n`, 'c'),
      DiffPreviewError,
    );
    assert.throws(() => applyUnifiedDiff('a\nb', diff.replace('+B', '+B'), 'c'), /end of the file/);
  });

  test('a hunk shorter or longer than its header is refused', () => {
    assert.throws(() => applyUnifiedDiff('a\n', `${header('c')}@@ -1,2 +1,2 @@\n a\n`, 'c'), /shorter/);
    assert.throws(() => applyUnifiedDiff('a\nb\n', `${header('c')}@@ -1,1 +1,1 @@\n a\n-b\n`, 'c'), /longer/);
  });

  test('reads created and deleted files as such', () => {
    const [created] = parseUnifiedDiff(
      'diff --git a/n b/n\nnew file mode 100644\n--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+hi\n',
    );
    assert.deepEqual([created?.oldPath, created?.newPath], [null, 'n']);
    assert.equal(
      applyUnifiedDiff('', 'diff --git a/n b/n\n--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+hi\n', 'n'),
      'hi\n',
    );
  });
});
