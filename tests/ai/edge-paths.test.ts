import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { workspaceRelative } from '../../edge/src/ai/paths.ts';
import { ApiError } from '../../edge/src/http/api-error.ts';

describe('the edge refuses AI paths outside the workspace before a stream opens', () => {
  test('relative paths are normalised', () => {
    assert.equal(workspaceRelative('./src//a.ts'), 'src/a.ts');
    assert.equal(workspaceRelative('src/lib/../a.ts'), 'src/a.ts');
    assert.equal(workspaceRelative('a.ts/'), 'a.ts');
  });

  test('anything that could leave the workspace is 400 invalid_path', () => {
    for (const bad of ['', '.', '..', '../a', 'a/../../b', '/etc/passwd', '~/x', 'C:/x', 'a\\b', 'a\0b']) {
      assert.throws(
        () => workspaceRelative(bad),
        (err: unknown) => err instanceof ApiError && err.code === 'invalid_path' && err.status === 400,
        JSON.stringify(bad),
      );
    }
  });
});
