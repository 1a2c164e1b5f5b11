import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { highlightRuns } from '../quick-open/highlight.ts';
import { replaceInFile, searchPattern } from './replace-diff.ts';
import { SearchResults, splitGlobs } from './search-results.ts';

const literal = { regex: false, caseSensitive: false, wholeWord: false };

describe('replace across files', () => {
  test('literal, case and whole-word patterns as the search reads them', () => {
    assert.equal('a.b axb'.replace(searchPattern({ ...literal, query: 'a.b' }), 'X'), 'X axb');
    assert.equal(
      'Foo foo'.replace(searchPattern({ ...literal, query: 'foo', caseSensitive: true }), 'X'),
      'Foo X',
    );
    assert.equal(
      'foo food'.replace(searchPattern({ ...literal, query: 'foo', wholeWord: true }), 'X'),
      'X food',
    );
  });

  test('a diff with context, hunks joined when close, and the line count', () => {
    const before = `${Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n')}\n`;
    const r = replaceInFile(
      'src/a.txt',
      before,
      { ...literal, query: 'line 2', wholeWord: true },
      'LINE two',
    );
    assert.equal(r.lines, 1);
    assert.equal(
      r.diff,
      [
        'diff --git a/src/a.txt b/src/a.txt',
        '--- a/src/a.txt',
        '+++ b/src/a.txt',
        '@@ -1,5 +1,5 @@',
        ' line 1',
        '-line 2',
        '+LINE two',
        ' line 3',
        ' line 4',
        ' line 5',
        '',
      ].join('\n'),
    );
    const two = replaceInFile('a', before, { ...literal, query: 'line 1', wholeWord: true }, 'x');
    assert.equal(two.lines, 1);
    const far = replaceInFile(
      'a',
      before,
      { regex: true, caseSensitive: true, wholeWord: false, query: '^line (3|18)$' },
      'n$1',
    );
    assert.equal(far.lines, 2);
    assert.equal((far.diff.match(/^@@/gm) ?? []).length, 2, 'far apart: two hunks');
    assert.match(far.diff, /^\+n18$/m);
  });

  test('a last line without a newline, and a replacement with line breaks', () => {
    const r = replaceInFile('f', 'a\nfoo', { ...literal, query: 'foo' }, 'x\ny');
    assert.equal(r.after, 'a\nx\ny');
    assert.equal(
      r.diff.split('\n').slice(3).join('\n'),
      '@@ -1,2 +1,3 @@\n a\n-foo\n\\ No newline at end of file\n+x\n+y\n\\ No newline at end of file\n',
    );
    const none = replaceInFile('f', 'nothing here\n', { ...literal, query: 'foo' }, 'x');
    assert.equal(none.diff, '');
    assert.equal(none.lines, 0);
  });

  test('a literal replacement keeps its $ signs', () => {
    assert.equal(replaceInFile('f', 'cost\n', { ...literal, query: 'cost' }, '$& $1').after, '$& $1\n');
  });
});

describe('search results', () => {
  test('lines of JSON joined across events', () => {
    const results = new SearchResults();
    const line = JSON.stringify({
      path: 'a.ts',
      matches: [{ line: 1, text: 'x', ranges: [[0, 1]], offset: 0 }],
    });
    assert.deepEqual(results.add(line.slice(0, 10)), []);
    assert.equal(results.add(`${line.slice(10)}\n${line.slice(0, 5)}`).length, 1);
    assert.equal(results.add(`${line.slice(5)}\nnot json\n`).length, 1);
    assert.equal(results.files.length, 2);
    assert.equal(results.matches, 2);
  });

  test('globs split on commas and newlines', () => {
    assert.deepEqual(splitGlobs(' src/**, *.ts\n\n docs '), ['src/**', '*.ts', 'docs']);
  });

  test('quick open highlights runs of matched characters', () => {
    assert.deepEqual(highlightRuns('index.ts', [0, 1, 6]), [
      { text: 'in', hit: true },
      { text: 'dex.', hit: false },
      { text: 't', hit: true },
      { text: 's', hit: false },
    ]);
  });
});
