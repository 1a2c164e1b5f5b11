import { patchRoutes } from '@keel/contract/api/patch';
import type { PatchApplyResponse } from '@keel/contract/patch';
import { callRoute } from './call-route.ts';
import type { ApiClient } from './client.ts';

export interface PatchApi {
  /**
   * Applies a unified diff, all or nothing. `expected` maps each path to the hash of the version the diff
   * was made from: when a file changed since, or its hunks no longer fit, the answer is a 409 `conflict`
   * ApiError and nothing is written; a malformed patch (or a path outside the workspace) is a 422
   * `invalid_patch`.
   */
  apply(workspaceId: string, patch: string, expected: Record<string, string>): Promise<PatchApplyResponse>;
}

export function createPatchApi(client: ApiClient): PatchApi {
  return {
    apply: (workspaceId, patch, expected) =>
      callRoute(client, patchRoutes.applyPatch, { body: { workspaceId, patch, expected } }),
  };
}
