import type { PatchApplyResponse } from '@keel/contract/patch';
import type { ApiClient, ResponseSchema } from './client.ts';

export interface PatchApi {
  /**
   * Applies a unified diff, all or nothing. `expected` maps each path to the hash of the version the diff
   * was made from: when a file changed since, or its hunks no longer fit, the answer is a 409 `conflict`
   * ApiError and nothing is written; a malformed patch (or a path outside the workspace) is a 422
   * `invalid_patch`.
   */
  apply(workspaceId: string, patch: string, expected: Record<string, string>): Promise<PatchApplyResponse>;
}

const ACTIONS: ReadonlySet<unknown> = new Set(['modified', 'created', 'deleted', 'renamed']);

/** Checked by hand, to keep the contract's zod schemas out of the sign-in bundle that builds this module. */
const AppliedShape: ResponseSchema<PatchApplyResponse> = {
  safeParse(data) {
    const files = (data as { files?: unknown } | null)?.files;
    const valid =
      Array.isArray(files) &&
      files.every(
        (f) =>
          typeof f === 'object' &&
          f !== null &&
          typeof f.path === 'string' &&
          ACTIONS.has(f.action) &&
          (f.sha256 === null || typeof f.sha256 === 'string'),
      );
    return valid
      ? { success: true, data: { files } as PatchApplyResponse }
      : { success: false, error: new TypeError('expected { files: [{ path, action, sha256 }] }') };
  },
};

export function createPatchApi(client: ApiClient): PatchApi {
  return {
    apply: (workspaceId, patch, expected) =>
      client.request('POST', '/api/patch/apply', {
        body: { workspaceId, patch, expected },
        schema: AppliedShape,
      }),
  };
}
