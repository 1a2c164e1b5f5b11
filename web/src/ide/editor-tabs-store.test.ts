import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRoot } from 'solid-js';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json, type Responder } from '../testing/fake-fetch.ts';
import { workspaceId } from '../testing/fixtures.ts';
import { createEditorTabsStore } from './editor-tabs-store.ts';

const sha = (c: string) => c.repeat(64);
const fileBody = (path: string, content: string, hash: string, encoding = 'utf8'): Responder =>
  json(200, { path, content, encoding, sha256: hash, size: content.length });
const written = (path: string, hash: string): Responder => json(200, { path, sha256: hash, size: 1 });

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  const tabs = createRoot(() => createEditorTabsStore(apis.files, workspaceId));
  return { ...apis, tabs };
}

describe('editor tabs store (fake fetch)', () => {
  test('open reads the file once; opening it again only focuses it', async () => {
    const { tabs, calls } = setup(fileBody('a.ts', 'one', sha('a')), fileBody('b.ts', 'two', sha('b')));

    await tabs.open('a.ts');
    await tabs.open('b.ts');
    await tabs.open('a.ts');

    assert.deepEqual(tabs.paths(), ['a.ts', 'b.ts']);
    assert.equal(tabs.active(), 'a.ts');
    assert.equal(tabs.tab('a.ts')?.content, 'one');
    assert.equal(tabs.tab('a.ts')?.baseSha256, sha('a'));
    assert.equal(calls.length, 2);
  });

  test('editing makes a tab dirty; typing it back to the saved text makes it clean', async () => {
    const { tabs } = setup(fileBody('a.ts', 'one', sha('a')));
    await tabs.open('a.ts');

    tabs.edit('a.ts', 'one!');
    assert.deepEqual(tabs.dirtyPaths(), ['a.ts']);
    tabs.edit('a.ts', 'one');

    assert.equal(tabs.isDirty('a.ts'), false);
  });

  test('save sends the base hash, then takes the new one and tells listeners', async () => {
    const { tabs, calls } = setup(fileBody('a.ts', 'one', sha('a')), written('a.ts', sha('b')));
    const saved: string[] = [];
    tabs.onSaved((path) => saved.push(path));
    await tabs.open('a.ts');
    tabs.edit('a.ts', 'two');

    assert.equal(await tabs.save('a.ts'), 'saved');

    assert.deepEqual(calls[1]?.body, { content: 'two', baseSha256: sha('a') });
    assert.equal(tabs.tab('a.ts')?.baseSha256, sha('b'));
    assert.equal(tabs.isDirty('a.ts'), false);
    assert.deepEqual(saved, ['a.ts']);
  });

  test('a clean tab is not saved; a second save while one runs shares it', async () => {
    let release: () => void = () => {};
    const { tabs, calls } = setup(fileBody('a.ts', 'one', sha('a')), () => {
      return new Promise<Response>((resolve) => {
        release = () => resolve(new Response(JSON.stringify({ path: 'a.ts', sha256: sha('b'), size: 3 })));
      });
    });
    await tabs.open('a.ts');
    assert.equal(await tabs.save('a.ts'), 'unchanged');

    tabs.edit('a.ts', 'two');
    const first = tabs.save('a.ts');
    const second = tabs.save('a.ts');
    assert.equal(tabs.tab('a.ts')?.saving, true);
    release();

    assert.deepEqual(await Promise.all([first, second]), ['saved', 'saved']);
    assert.equal(calls.length, 2);
  });

  test('text typed while a save is in flight stays dirty', async () => {
    let release: () => void = () => {};
    const { tabs } = setup(fileBody('a.ts', 'one', sha('a')), () => {
      return new Promise<Response>((resolve) => {
        release = () => resolve(new Response(JSON.stringify({ path: 'a.ts', sha256: sha('b'), size: 3 })));
      });
    });
    await tabs.open('a.ts');
    tabs.edit('a.ts', 'two');

    const saving = tabs.save('a.ts');
    tabs.edit('a.ts', 'three');
    release();
    await saving;

    assert.equal(tabs.tab('a.ts')?.savedContent, 'two');
    assert.equal(tabs.isDirty('a.ts'), true);
  });

  test('a 409 records the server version as a conflict instead of overwriting', async () => {
    const { tabs } = setup(
      fileBody('a.ts', 'one', sha('a')),
      apiError(409, 'conflict'),
      fileBody('a.ts', 'theirs', sha('c')),
    );
    await tabs.open('a.ts');
    tabs.edit('a.ts', 'mine');

    assert.equal(await tabs.save('a.ts'), 'conflict');

    assert.deepEqual(tabs.tab('a.ts')?.conflict, { serverContent: 'theirs', serverSha256: sha('c') });
    assert.equal(tabs.tab('a.ts')?.content, 'mine');
    assert.equal(await tabs.save('a.ts'), 'conflict', 'plain save stays blocked until the person chooses');
  });

  test('overwrite re-saves with the server version as the new base', async () => {
    const { tabs, calls } = setup(
      fileBody('a.ts', 'one', sha('a')),
      apiError(409, 'conflict'),
      fileBody('a.ts', 'theirs', sha('c')),
      written('a.ts', sha('d')),
    );
    await tabs.open('a.ts');
    tabs.edit('a.ts', 'mine');
    await tabs.save('a.ts');

    assert.equal(await tabs.overwrite('a.ts'), 'saved');

    assert.deepEqual(calls[3]?.body, { content: 'mine', baseSha256: sha('c') });
    assert.equal(tabs.tab('a.ts')?.conflict, undefined);
    assert.equal(tabs.isDirty('a.ts'), false);
  });

  test('reload takes the server version and bumps the revision so the editor resets', async () => {
    const { tabs } = setup(
      fileBody('a.ts', 'one', sha('a')),
      apiError(409, 'conflict'),
      fileBody('a.ts', 'theirs', sha('c')),
    );
    await tabs.open('a.ts');
    tabs.edit('a.ts', 'mine');
    await tabs.save('a.ts');
    const revision = tabs.tab('a.ts')!.revision;

    await tabs.reload('a.ts');

    const tab = tabs.tab('a.ts')!;
    assert.deepEqual([tab.content, tab.baseSha256, tab.conflict], ['theirs', sha('c'), undefined]);
    assert.equal(tab.revision, revision + 1);
    assert.equal(tabs.isDirty('a.ts'), false);
  });

  test('other save failures reject and keep the changes', async () => {
    const { tabs } = setup(fileBody('a.ts', 'one', sha('a')), apiError(409, 'workspace_not_running'));
    await tabs.open('a.ts');
    tabs.edit('a.ts', 'two');

    await assert.rejects(tabs.save('a.ts'));

    assert.equal(tabs.isDirty('a.ts'), true);
    assert.equal(tabs.tab('a.ts')?.saving, false);
  });

  test('binary files open read-only and are never saved', async () => {
    const { tabs, calls } = setup(fileBody('logo.png', 'iVBORw0K', sha('a'), 'base64'));
    await tabs.open('logo.png');

    tabs.edit('logo.png', 'oops');

    assert.equal(tabs.tab('logo.png')?.binary, true);
    assert.equal(await tabs.save('logo.png'), 'unchanged');
    assert.equal(calls.length, 1);
  });

  test('a file that cannot be read opens as an error tab, and opening it again retries', async () => {
    const { tabs } = setup(apiError(413, 'payload_too_large'), fileBody('big.log', 'ok', sha('a')));

    await tabs.open('big.log');
    assert.equal(tabs.tab('big.log')?.status, 'error');
    await tabs.open('big.log');

    assert.equal(tabs.tab('big.log')?.status, 'ready');
    assert.deepEqual(tabs.paths(), ['big.log']);
  });

  test('closing a dirty tab asks first; forcing closes it and focuses the neighbour', async () => {
    const { tabs } = setup(
      fileBody('a.ts', 'a', sha('a')),
      fileBody('b.ts', 'b', sha('b')),
      fileBody('c.ts', 'c', sha('c')),
    );
    await tabs.open('a.ts');
    await tabs.open('b.ts');
    await tabs.open('c.ts');
    tabs.activate('b.ts');
    tabs.edit('b.ts', 'changed');

    assert.equal(tabs.close('b.ts'), 'dirty');
    assert.equal(tabs.close('b.ts', { force: true }), 'closed');

    assert.deepEqual(tabs.paths(), ['a.ts', 'c.ts']);
    assert.equal(tabs.active(), 'c.ts');
  });

  test('renaming a folder moves its open tabs, unsaved text included; deleting closes them', async () => {
    const { tabs } = setup(fileBody('src/a.ts', 'a', sha('a')), fileBody('other.ts', 'o', sha('b')));
    await tabs.open('src/a.ts');
    await tabs.open('other.ts');
    tabs.activate('src/a.ts');
    tabs.edit('src/a.ts', 'edited');

    tabs.moved('src', 'lib');
    assert.deepEqual(tabs.paths(), ['lib/a.ts', 'other.ts']);
    assert.equal(tabs.active(), 'lib/a.ts');
    assert.equal(tabs.tab('lib/a.ts')?.content, 'edited');

    tabs.removed('lib');
    assert.deepEqual(tabs.paths(), ['other.ts']);
    assert.equal(tabs.active(), 'other.ts');
  });
});
