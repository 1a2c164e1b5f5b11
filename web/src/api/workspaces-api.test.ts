import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestApis } from '../testing/api-setup.ts';
import { apiError, json } from '../testing/fake-fetch.ts';
import { workspace, workspaceId } from '../testing/fixtures.ts';
import { ApiError } from './api-error.ts';

describe('workspaces API (fake fetch)', () => {
  test('list unwraps and validates the workspaces', async () => {
    const { workspaces, paths } = createTestApis(json(200, { workspaces: [workspace()] }));

    assert.deepEqual(await workspaces.list(), [workspace()]);
    assert.deepEqual(paths(), ['GET /api/workspaces']);
  });

  test('a list with a malformed workspace is an unexpected_response, not half a list', async () => {
    const { workspaces } = createTestApis(json(200, { workspaces: [{ id: 'nope' }] }));

    await assert.rejects(
      workspaces.list(),
      (error) => error instanceof ApiError && error.code === 'unexpected_response',
    );
  });

  test('create posts name and source with the CSRF header', async () => {
    const created = workspace({
      status: 'creating',
      source: { type: 'git', url: 'https://example.com/r.git' },
    });
    const { workspaces, calls } = createTestApis(json(201, created));

    const result = await workspaces.create({
      name: 'demo',
      source: { type: 'git', url: 'https://example.com/r.git' },
    });

    assert.equal(result.status, 'creating');
    assert.deepEqual(calls[0]?.body, {
      name: 'demo',
      source: { type: 'git', url: 'https://example.com/r.git' },
    });
    assert.equal(calls[0]?.headers.get('x-keel-csrf'), 'csrf-cookie');
  });

  test('actions post to their route and return the transitional status', async () => {
    const { workspaces, paths } = createTestApis(
      json(202, { id: workspaceId, status: 'stopping' }),
      json(202, { id: workspaceId, status: 'deleting' }),
    );

    assert.equal(await workspaces.act(workspaceId, 'stop'), 'stopping');
    await workspaces.remove(workspaceId);

    assert.deepEqual(paths(), [
      `POST /api/workspaces/${workspaceId}/stop`,
      `DELETE /api/workspaces/${workspaceId}`,
    ]);
  });

  test('status and logs', async () => {
    const line = { id: '1-0', at: '2025-01-01T00:00:00.000Z', stream: 'system', text: 'cloning' };
    const { workspaces } = createTestApis(
      json(200, { status: 'failed', reason: 'clone failed', updatedAt: '2025-01-01T00:00:00.000Z' }),
      json(200, { lines: [line] }),
    );

    assert.equal((await workspaces.status(workspaceId)).reason, 'clone failed');
    assert.deepEqual(await workspaces.logs(workspaceId), [line]);
  });

  test('ids are escaped into the path', async () => {
    const { workspaces, paths } = createTestApis(apiError(404, 'not_found'));

    await assert.rejects(workspaces.get('../x'));

    assert.deepEqual(paths(), ['GET /api/workspaces/..%2Fx']);
  });
});
