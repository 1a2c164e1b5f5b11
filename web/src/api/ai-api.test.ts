import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTestApis } from '../testing/api-setup.ts';
import { json } from '../testing/fake-fetch.ts';
import { workspaceId } from '../testing/fixtures.ts';

describe('AI and patch API modules (fake fetch)', () => {
  test('config reads the answer for a workspace, and refuses a malformed one', async () => {
    const { ai, calls } = createTestApis(
      json(200, { configured: true, model: 'qwen', hint: null }),
      json(200, { configured: 'yes' }),
    );

    assert.deepEqual(await ai.config(workspaceId), { configured: true, model: 'qwen', hint: null });
    assert.equal(calls[0]?.path, `/api/ai/config?workspaceId=${workspaceId}`);
    await assert.rejects(ai.config(), { code: 'unexpected_response' });
  });

  test('a patch is applied with the hashes it expects, and the answer is checked', async () => {
    const sha = 'f'.repeat(64);
    const { patch, calls } = createTestApis(
      json(200, { files: [{ path: 'a.ts', action: 'modified', sha256: sha }] }),
      json(200, { files: [{ path: 'a.ts', action: 'exploded', sha256: sha }] }),
    );

    const applied = await patch.apply(workspaceId, 'diff', { 'a.ts': sha });
    assert.deepEqual(applied.files, [{ path: 'a.ts', action: 'modified', sha256: sha }]);
    assert.deepEqual(calls[0]?.body, { workspaceId, patch: 'diff', expected: { 'a.ts': sha } });
    assert.equal(calls[0]?.path, '/api/patch/apply');
    await assert.rejects(patch.apply(workspaceId, 'diff', {}), { code: 'unexpected_response' });
  });
});
