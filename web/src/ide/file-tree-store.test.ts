import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json, type Responder } from '../testing/fake-fetch.ts';
import { workspaceId } from '../testing/fixtures.ts';
import { createFileTreeStore } from './file-tree-store.ts';
import { visibleRows } from './visible-tree.ts';

const file = (path: string, size = 1) => ({ name: path.split('/').pop()!, path, type: 'file', size });
const dir = (path: string) => ({ name: path.split('/').pop()!, path, type: 'directory', size: 4096 });
const listing = (path: string, entries: unknown[]): Responder =>
  json(200, { path, entries, truncated: false });

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  const tree = createRoot(() => createFileTreeStore(apis.files, workspaceId));
  return { ...apis, tree };
}

describe('file tree store (fake fetch)', () => {
  test('the root loads on expand, folders first, names in natural order', async () => {
    const { tree } = setup(listing('', [file('b10.ts'), file('B2.ts'), dir('src'), file('a.ts')]));

    await tree.expand('');

    const root = tree.directory('');
    assert.equal(root?.status, 'loaded');
    assert.deepEqual(
      root?.entries.map((e) => e.name),
      ['src', 'a.ts', 'B2.ts', 'b10.ts'],
    );
  });

  test('a folder is fetched the first time it opens, not again on re-open', async () => {
    const { tree, paths } = setup(listing('', [dir('src')]), listing('src', [file('src/a.ts')]));
    await tree.expand('');

    await tree.toggle('src');
    await tree.toggle('src');
    await tree.toggle('src');

    assert.equal(tree.isExpanded('src'), true);
    assert.deepEqual(paths(), [
      `GET /api/workspaces/${workspaceId}/files/tree?path=`,
      `GET /api/workspaces/${workspaceId}/files/tree?path=src`,
    ]);
  });

  test('refresh reloads a loaded folder and ignores unknown ones', async () => {
    const { tree, calls } = setup(listing('', [file('a.ts')]), listing('', [file('a.ts'), file('b.ts')]));
    await tree.expand('');

    await tree.refresh('');
    await tree.refresh('never-opened');

    assert.equal(tree.directory('')?.entries.length, 2);
    assert.equal(calls.length, 2);
    assert.equal(tree.entry('b.ts')?.type, 'file');
  });

  test('a failed listing shows the error and retries on the next expand', async () => {
    const { tree } = setup(apiError(409, 'workspace_not_running'), listing('', [file('a.ts')]));

    await tree.expand('');
    assert.equal(tree.directory('')?.status, 'error');
    await tree.expand('');

    assert.equal(tree.directory('')?.status, 'loaded');
  });

  test('a slow old answer does not overwrite a newer one', async () => {
    let releaseOld: () => void = () => {};
    const { tree } = setup(
      () =>
        new Promise<Response>((resolve) => {
          releaseOld = () =>
            resolve(new Response(JSON.stringify({ path: '', entries: [file('old.ts')], truncated: false })));
        }),
      listing('', [file('new.ts')]),
    );

    const first = tree.expand('');
    await tree.refresh('');
    releaseOld();
    await first;

    assert.deepEqual(
      tree.directory('')?.entries.map((e) => e.name),
      ['new.ts'],
    );
  });

  test('reveal opens every folder down to a path', async () => {
    const { tree } = setup(
      listing('', [dir('a')]),
      listing('a', [dir('a/b')]),
      listing('a/b', [file('a/b/c.ts')]),
    );

    await tree.reveal('a/b/c.ts');

    assert.ok(tree.isExpanded('a') && tree.isExpanded('a/b'));
    assert.equal(tree.entry('a/b/c.ts')?.name, 'c.ts');
  });

  test('forget drops a deleted folder, what is below it and the selection in it', async () => {
    const { tree } = setup(listing('', [dir('a')]), listing('a', [file('a/x.ts')]));
    await tree.reveal('a/x.ts');
    tree.select('a/x.ts');

    tree.forget('a');

    assert.equal(tree.directory('a'), undefined);
    assert.equal(tree.isExpanded('a'), false);
    assert.equal(tree.selected(), undefined);
    assert.ok(tree.isExpanded(''));
  });
});

describe('visibleRows (fake fetch)', () => {
  test('lists open folders’ children under them with their depth and position', async () => {
    const { tree } = setup(
      listing('', [dir('a'), file('z.ts')]),
      listing('a', [file('a/b.ts'), file('a/c.ts')]),
    );
    await tree.expand('');
    await tree.expand('a');

    assert.deepEqual(
      visibleRows(tree).map((row) => `${row.level}:${row.entry.path}:${row.position}/${row.setSize}`),
      ['1:a:1/2', '2:a/b.ts:1/2', '2:a/c.ts:2/2', '1:z.ts:2/2'],
    );
    tree.collapse('a');
    assert.equal(visibleRows(tree).length, 2);
  });
});

describe('changes made by commands (fake fetch)', () => {
  test('a renamed folder keeps its place, its open sub-folders and the selection, without a new listing', async () => {
    const { tree, calls } = setup(
      listing('', [dir('src'), file('z.ts')]),
      listing('src', [dir('src/lib'), file('src/a.ts')]),
      listing('src/lib', [file('src/lib/b.ts')]),
    );
    await tree.reveal('src/lib/b.ts');
    tree.select('src/lib/b.ts');

    tree.applyRename('src', 'app');

    assert.deepEqual(
      visibleRows(tree).map((row) => row.entry.path),
      ['app', 'app/lib', 'app/lib/b.ts', 'app/a.ts', 'z.ts'],
    );
    assert.equal(tree.entry('app')?.name, 'app');
    assert.equal(tree.selected(), 'app/lib/b.ts');
    assert.equal(calls.length, 3);
  });

  test('a renamed file is re-sorted among its siblings; a removed one disappears', async () => {
    const { tree } = setup(listing('', [file('a.ts'), file('m.ts')]));
    await tree.expand('');

    tree.applyRename('a.ts', 'z.ts');
    assert.deepEqual(
      tree.directory('')?.entries.map((e) => e.name),
      ['m.ts', 'z.ts'],
    );
    tree.applyRemoval('m.ts');

    assert.deepEqual(
      tree.directory('')?.entries.map((e) => e.name),
      ['z.ts'],
    );
  });
});
