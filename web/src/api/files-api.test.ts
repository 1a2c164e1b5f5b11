import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json } from '../testing/fake-fetch.ts';
import { workspaceId } from '../testing/fixtures.ts';
import { ApiError } from './api-error.ts';

const SHA = 'a'.repeat(64);

describe('files API (fake fetch)', () => {
  test('list asks for one folder, path escaped', async () => {
    const entries = [{ name: 'a b.ts', path: 'src/a b.ts', type: 'file', size: 3 }];
    const { files, paths } = createTestApis(json(200, { path: 'src', entries, truncated: false }));

    assert.deepEqual(await files.list(workspaceId, 'src'), entries);
    assert.deepEqual(paths(), [`GET /api/workspaces/${workspaceId}/files/tree?path=src`]);
  });

  test('read returns content with its hash; unknown encodings count as text', async () => {
    const { files, paths } = createTestApis(
      json(200, { path: 'a&b.txt', content: 'hi', encoding: 'utf8', sha256: SHA, size: 2 }),
    );

    const file = await files.read(workspaceId, 'a&b.txt');

    assert.deepEqual(file, { path: 'a&b.txt', content: 'hi', encoding: 'utf8', sha256: SHA, size: 2 });
    assert.deepEqual(paths(), [`GET /api/workspaces/${workspaceId}/files?path=a%26b.txt`]);
  });

  test('write sends the base hash so a concurrent change is a conflict, not an overwrite', async () => {
    const { files, calls } = createTestApis(json(200, { path: 'a.txt', sha256: SHA, size: 5 }));

    const written = await files.write(workspaceId, 'a.txt', 'hello', { baseSha256: SHA });

    assert.equal(written.sha256, SHA);
    assert.equal(calls[0]?.method, 'PUT');
    assert.deepEqual(calls[0]?.body, { content: 'hello', baseSha256: SHA });
  });

  test('a new file is written without a base hash', async () => {
    const { files, calls } = createTestApis(json(200, { path: 'n.txt', sha256: SHA, size: 0 }));

    await files.write(workspaceId, 'n.txt', '');

    assert.deepEqual(calls[0]?.body, { content: '' });
  });

  test('a 409 rejects with the conflict code', async () => {
    const { files } = createTestApis(apiError(409, 'conflict', 'The file changed'));

    await assert.rejects(
      files.write(workspaceId, 'a.txt', 'x', { baseSha256: SHA }),
      (error) => error instanceof ApiError && error.code === 'conflict' && error.status === 409,
    );
  });
});

describe('files API: rename, delete, mkdir (fake fetch)', () => {
  test('rename asks to overwrite only when told to', async () => {
    const { files, calls } = createTestApis(
      json(200, { from: 'a', to: 'b' }),
      json(200, { from: 'a', to: 'b' }),
    );

    await files.rename(workspaceId, 'a', 'b');
    await files.rename(workspaceId, 'a', 'b', { overwrite: true });

    assert.deepEqual(calls[0]?.body, { from: 'a', to: 'b' });
    assert.deepEqual(calls[1]?.body, { from: 'a', to: 'b', overwrite: true });
  });

  test('remove is a DELETE with the path in the query, recursive only when asked', async () => {
    const noContent = () => new Response(null, { status: 204 });
    const { files, paths } = createTestApis(noContent, noContent);

    await files.remove(workspaceId, 'a b.txt');
    await files.remove(workspaceId, 'dir', { recursive: true });

    assert.deepEqual(paths(), [
      `DELETE /api/workspaces/${workspaceId}/files?path=a%20b.txt`,
      `DELETE /api/workspaces/${workspaceId}/files?path=dir&recursive=true`,
    ]);
  });

  test('mkdir checks the answer against the contract', async () => {
    const { files } = createTestApis(json(201, { nope: true }));

    await assert.rejects(
      files.mkdir(workspaceId, 'x'),
      (error) => error instanceof ApiError && error.code === 'unexpected_response',
    );
  });
});
