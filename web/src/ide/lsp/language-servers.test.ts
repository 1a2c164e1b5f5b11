import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isWorkspaceUri } from '@keel/contract/lsp';
import { lspLanguageFor, pathOfWorkspaceUri, workspaceUri, workspaceUrisIn } from './language-servers.ts';

describe('workspace URIs for language servers', () => {
  test('a workspace path becomes the file:///workspace URI the server sees, and back', () => {
    for (const path of ['src/main.ts', 'a b/c#d.ts', 'ünï/ço.py', 'x%y.json']) {
      const uri = workspaceUri(path);
      assert.ok(isWorkspaceUri(uri), uri);
      assert.equal(pathOfWorkspaceUri(uri), path);
    }
    assert.equal(workspaceUri('src/main.ts'), 'file:///workspace/src/main.ts');
    assert.equal(pathOfWorkspaceUri('file:///etc/passwd'), undefined);
    assert.equal(pathOfWorkspaceUri('keel:/src/main.ts'), undefined);
  });

  test('Monaco languages map to the servers that serve them', () => {
    assert.equal(lspLanguageFor('javascript'), 'typescript');
    assert.equal(lspLanguageFor('scss'), 'css');
    assert.equal(lspLanguageFor('markdown'), undefined);
  });

  test('URIs that climb out of /workspace are not workspace URIs', () => {
    assert.equal(isWorkspaceUri('file:///workspace/../etc/passwd'), false);
    assert.equal(isWorkspaceUri('file:///workspace/%2e%2e/etc/passwd'), false);
    assert.equal(isWorkspaceUri('file:///workspacefoo/x'), false);
    assert.equal(isWorkspaceUri('file:///workspace'), true);
  });

  test('the workspace files an answer names are found in definitions, links and rename edits', () => {
    const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 3 } };
    assert.deepEqual(workspaceUrisIn([{ uri: 'file:///workspace/src/a.ts', range }]), [
      'file:///workspace/src/a.ts',
    ]);
    assert.deepEqual(workspaceUrisIn({ uri: 'file:///workspace/b.ts', range }), ['file:///workspace/b.ts']);
    assert.deepEqual(
      workspaceUrisIn([
        { targetUri: 'file:///workspace/c.ts', targetRange: range, targetSelectionRange: range },
        { targetUri: 'file:///usr/lib/node_modules/typescript/lib/lib.d.ts', targetRange: range },
      ]),
      ['file:///workspace/c.ts'],
    );
    assert.deepEqual(
      workspaceUrisIn({
        changes: { 'file:///workspace/d.ts': [{ range, newText: 'x' }] },
        documentChanges: [{ textDocument: { uri: 'file:///workspace/e.ts', version: 1 }, edits: [] }],
      }).sort(),
      ['file:///workspace/d.ts', 'file:///workspace/e.ts'],
    );
    assert.deepEqual(workspaceUrisIn({ contents: { kind: 'markdown', value: 'file:///workspace/x' } }), []);
  });
});
