import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError } from '../api/api-error.ts';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json, type Responder } from '../testing/fake-fetch.ts';
import { workspaceId } from '../testing/fixtures.ts';
import { createFileOperations } from './file-operations.ts';

const noContent: Responder = () => new Response(null, { status: 204 });

function setup(...script: Responder[]) {
  const apis = createTestApis(...script);
  return { ...apis, ops: createFileOperations(apis.files, workspaceId) };
}

describe('file operations (fake fetch)', () => {
  test('a new file is an empty write; a new folder is made by the mkdir route', async () => {
    const { ops, calls, paths } = setup(
      json(200, { path: 'a.ts', sha256: 'a'.repeat(64), size: 0 }),
      json(201, { path: 'lib/util' }),
    );

    await ops.createFile('a.ts');
    await ops.createFolder('lib/util');

    assert.deepEqual(paths(), [
      `PUT /api/workspaces/${workspaceId}/files?path=a.ts`,
      `POST /api/workspaces/${workspaceId}/files/mkdir`,
    ]);
    assert.deepEqual(calls[0]?.body, { content: '' });
    assert.deepEqual(calls[1]?.body, { path: 'lib/util' });
  });

  test('rename sends the names as data, never replacing what is there', async () => {
    const { ops, calls, paths } = setup(json(200, { from: '-odd name.ts', to: 'b; rm -rf ~.ts' }));

    await ops.rename('-odd name.ts', 'b; rm -rf ~.ts');

    assert.deepEqual(paths(), [`POST /api/workspaces/${workspaceId}/files/rename`]);
    assert.deepEqual(calls[0]?.body, { from: '-odd name.ts', to: 'b; rm -rf ~.ts' });
  });

  test('a rename onto an existing name rejects with the conflict', async () => {
    const { ops } = setup(apiError(409, 'conflict', 'already exists: b.ts'));

    await assert.rejects(
      ops.rename('a.ts', 'b.ts'),
      (error) => error instanceof ApiError && error.code === 'conflict' && error.status === 409,
    );
  });

  test('delete removes a folder with its content, the path escaped', async () => {
    const { ops, paths } = setup(noContent);

    await ops.remove('src/a&b');

    assert.deepEqual(paths(), [
      `DELETE /api/workspaces/${workspaceId}/files?path=src%2Fa%26b&recursive=true`,
    ]);
  });

  test('a refused delete rejects with what the server said', async () => {
    const { ops } = setup(apiError(400, 'invalid_path', 'refusing to follow a symbolic link: link/x'));

    await assert.rejects(ops.remove('link/x'), /symbolic link/);
  });
});
