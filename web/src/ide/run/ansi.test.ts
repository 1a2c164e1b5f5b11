import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ansiPresentation, applySgr, createAnsiReader, type StyledText } from './ansi.ts';

const ESC = '\u001b';

function read(...chunks: string[]): StyledText[] {
  const reader = createAnsiReader();
  return chunks.flatMap((chunk) => reader.push(chunk));
}

describe('ANSI reader', () => {
  test('plain text passes through as one unstyled run', () => {
    assert.deepEqual(read('hello\nworld\n'), [{ text: 'hello\nworld\n', style: {} }]);
  });

  test('SGR colours split the text into styled runs, and reset ends them', () => {
    assert.deepEqual(read(`a${ESC}[1;31mred${ESC}[0m b`), [
      { text: 'a', style: {} },
      { text: 'red', style: { bold: true, fg: 1 } },
      { text: ' b', style: {} },
    ]);
  });

  test('a sequence split across chunks is completed by the next chunk', () => {
    assert.deepEqual(read(`x${ESC}`, '[3', '2mgreen'), [
      { text: 'x', style: {} },
      { text: 'green', style: { fg: 2 } },
    ]);
  });

  test('non-colour escapes (cursor moves, clear line, window titles) are dropped', () => {
    assert.deepEqual(read(`${ESC}[2K${ESC}[1Gdone${ESC}]0;title\u0007!${ESC}(B`), [
      { text: 'done!', style: {} },
    ]);
  });

  test('CRLF is a line end; a lone CR starts a new line, even across chunks; bells vanish', () => {
    assert.deepEqual(read('a\r\nb\rc\r', '\nd\u0007\r', 'e'), [
      { text: 'a\nb\nc', style: {} },
      { text: '\nd', style: {} },
      { text: '\ne', style: {} },
    ]);
  });

  test('an escape that never ends is shown instead of swallowing the output', () => {
    const text = read(`${ESC}[${'1'.repeat(300)}`)
      .map((r) => r.text)
      .join('');
    assert.equal(text.length, 302);
  });
});

describe('applySgr', () => {
  test('bright, 256-colour and true-colour codes', () => {
    assert.deepEqual(applySgr({}, '92'), { fg: 10 });
    assert.deepEqual(applySgr({}, '38;5;208'), { fg: '#ff8700' });
    assert.deepEqual(applySgr({}, '38;5;3'), { fg: 3 });
    assert.deepEqual(applySgr({}, '48;5;240'), { bg: '#585858' });
    assert.deepEqual(applySgr({}, '38;2;1;2;3;1'), { fg: '#010203', bold: true });
  });

  test('attributes turn off one by one, and an empty parameter list resets', () => {
    const all = applySgr({}, '1;3;4;7;9;31;42');
    assert.deepEqual(applySgr(all, '22;23;24;27;29;39;49'), {});
    assert.deepEqual(applySgr(all, ''), {});
  });
});

describe('ansiPresentation', () => {
  test('palette colours are theme classes, fixed colours inline; inverse swaps them', () => {
    assert.deepEqual(ansiPresentation({ fg: 1, bold: true }), { class: 'ansi-fg-1 ansi-bold', style: {} });
    assert.deepEqual(ansiPresentation({ fg: '#ff8700' }), { class: '', style: { color: '#ff8700' } });
    assert.deepEqual(ansiPresentation({ fg: 2, inverse: true }), {
      class: 'ansi-fg-background ansi-bg-2',
      style: {},
    });
  });
});
