import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeTarget, linesOfSelection } from './line-range.ts';
import { chatFileProblem, defaultChatPath } from './save-conversation.ts';

describe('linesOfSelection', () => {
  const sel = (startLineNumber: number, startColumn: number, endLineNumber: number, endColumn: number) => ({
    startLineNumber,
    startColumn,
    endLineNumber,
    endColumn,
  });

  test('no selection (a bare cursor) means the whole file', () => {
    assert.equal(linesOfSelection(sel(4, 7, 4, 7)), undefined);
    assert.equal(linesOfSelection(null), undefined);
  });

  test('whole lines the selection touches; a selection ending at a line start leaves that line out', () => {
    assert.deepEqual(linesOfSelection(sel(3, 5, 9, 2)), { startLine: 3, endLine: 9 });
    assert.deepEqual(linesOfSelection(sel(3, 1, 10, 1)), { startLine: 3, endLine: 9 });
    assert.deepEqual(linesOfSelection(sel(3, 2, 3, 8)), { startLine: 3, endLine: 3 });
  });

  test('says what is targeted in words', () => {
    assert.equal(describeTarget('a.ts', undefined), 'a.ts');
    assert.equal(describeTarget('a.ts', { startLine: 2, endLine: 2 }), 'a.ts, line 2');
    assert.equal(describeTarget('a.ts', { startLine: 2, endLine: 5 }), 'a.ts, lines 2–5');
  });
});

describe('saving a conversation', () => {
  test('goes to .keel/chats/<local date>.md unless told otherwise', () => {
    assert.equal(defaultChatPath(new Date(2026, 10, 2, 23, 59)), '.keel/chats/2026-11-02.md');
  });

  test('refuses paths that leave the workspace or are not file paths', () => {
    assert.equal(chatFileProblem('notes/chat.md'), undefined);
    assert.ok(chatFileProblem('/etc/x.md'));
    assert.ok(chatFileProblem('../x.md'));
    assert.ok(chatFileProblem('a//b.md'));
    assert.ok(chatFileProblem('  '));
  });
});
