import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FileEntry } from '@keel/contract/workspaces';
import { rootView } from './visible-tree.ts';

const file: FileEntry = { name: 'a.ts', path: 'a.ts', type: 'file', size: 1 };

describe('rootView', () => {
  test('the tree (and the id its toolbar controls) is there only when the root has entries', () => {
    assert.equal(rootView(undefined), 'loading');
    assert.equal(rootView({ status: 'loading', entries: [] }), 'loading');
    assert.equal(rootView({ status: 'error', entries: [], error: new Error('offline') }), 'failed');
    // A new, empty workspace: a note, no tree. The toolbar must not point at a tree that is not drawn.
    assert.equal(rootView({ status: 'loaded', entries: [] }), 'empty');
    assert.equal(rootView({ status: 'loaded', entries: [file] }), 'tree');
    // Refreshing or failing to refresh keeps what is already shown.
    assert.equal(rootView({ status: 'loading', entries: [file] }), 'tree');
    assert.equal(rootView({ status: 'error', entries: [file], error: new Error('offline') }), 'tree');
  });
});
