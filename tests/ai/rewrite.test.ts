import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { extractCode } from '../../runners/src/ai/prompts.ts';
import { applyRewrite, rewriteDiff } from '../../runners/src/ai/rewrite.ts';
import { applyToText, parsePatch } from '../../runners/src/patch/index.ts';

const code = (answer: string) => extractCode(answer);

describe('a rewrite answer turned into the new file and its diff', () => {
  test('a selection is replaced by the code, the rest kept', () => {
    const content = 'a\nb\nc\nd\n';
    const target = { path: 'f.ts', content, range: { startLine: 2, endLine: 3 } };
    assert.equal(applyRewrite(target, code('```\nB\nC2\nC3\n```')), 'a\nB\nC2\nC3\nd\n');
    assert.equal(applyRewrite(target, code('```\n```')), 'a\nd\n', 'an empty answer deletes the selection');
  });

  test('a range past the end takes the lines to the end', () => {
    const target = { path: 'f.ts', content: 'a\nb\n', range: { startLine: 2, endLine: 99 } };
    assert.equal(applyRewrite(target, code('```\nz\n```')), 'a\nz\n');
  });

  test('CRLF line endings and a missing final newline are kept as the file had them', () => {
    assert.equal(applyRewrite({ path: 'f.ts', content: 'a\r\nb\r\n' }, code('```\nx\ny\n```')), 'x\r\ny\r\n');
    assert.equal(applyRewrite({ path: 'f.ts', content: 'a\nb' }, code('```\nx\ny\n```')), 'x\ny');
    assert.equal(applyRewrite({ path: 'f.ts', content: 'a\nb\n' }, code('x\ny')), 'x\ny\n', 'no fence');
  });

  test('the diff applies to the file as read and gives the rewrite', () => {
    const content = 'const a = 1;\r\nconst b = 2;\r\nexport { a, b };\r\n';
    const target = { path: 'src/x.ts', content, range: { startLine: 2, endLine: 2 } };
    const answer = code('Here:\n```ts\nconst b = 3;\n```\n');
    const diff = rewriteDiff(target, answer);
    assert.match(diff, /^diff --git a\/src\/x\.ts b\/src\/x\.ts\n/);
    assert.equal(applyToText(content, parsePatch(diff).files[0]!), applyRewrite(target, answer));
    assert.equal(rewriteDiff({ path: 'f', content: 'same\n' }, code('```\nsame\n```')), '');
  });
});
