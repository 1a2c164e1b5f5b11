import { patchRoutes as routes } from '@keel/contract/api/patch';
import {
  PatchApplyRequest,
  type PatchApplyResponse,
  PatchJobResult,
  PatchValidateRequest,
  type PatchValidateResponse,
} from '@keel/contract/patch';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { AuditMetadata } from '../audit/audit-log.ts';
import { auditByCaller, failureOf } from '../audit/audit-request.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readJsonWithin } from '../http/validate.ts';
import { loadWorkspace } from '../workspaces/access.ts';
import { filesChanged } from '../workspaces/files-version.ts';
import { callRunner } from '../workspaces/runner-call.ts';

/** A patch may be 4 MiB of text; JSON escaping and multi-byte characters need room on top. */
const PATCH_BODY_BYTES = 6 * 1024 * 1024;

/**
 * Code changes reach files only as unified diffs. The workspace's runner parses and
 * applies them (strictly, all files or none); this side checks who may, says why a patch
 * was refused, and records every apply in the audit trail by the diff's hash.
 */
export function patchRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/patch');

  on(routes.validatePatch, async (c) => {
    const input = await readJsonWithin(c, PatchValidateRequest, PATCH_BODY_BYTES);
    const row = await loadWorkspace(c, input.workspaceId);
    const job = {
      v: CONTRACT_VERSION,
      type: 'patch.validate',
      workspaceId: row.id,
      patch: input.patch,
    } as const;
    const result = await callRunner(c.get('services'), row, job, PatchJobResult, jobTraceOf(c));
    if (result.outcome !== 'checked') throw refusal(result);
    const body: PatchValidateResponse = { ok: result.ok, files: result.files };
    return reply(c, routes.validatePatch, 200, body);
  });

  on(routes.applyPatch, async (c) => {
    const services = c.get('services');
    const input = await readJsonWithin(c, PatchApplyRequest, PATCH_BODY_BYTES);
    const row = await loadWorkspace(c, input.workspaceId);
    const audit = auditApply(c, row.id, {
      diffSha256: sha256Hex(input.patch),
      diffBytes: new TextEncoder().encode(input.patch).byteLength,
      expectedFiles: Object.keys(input.expected ?? {}).length,
    });
    const job = {
      v: CONTRACT_VERSION,
      type: 'patch.apply',
      workspaceId: row.id,
      patch: input.patch,
      ...(input.expected ? { expected: input.expected } : {}),
    } as const;
    let result: PatchJobResult;
    try {
      result = await callRunner(services, row, job, PatchJobResult, jobTraceOf(c));
    } catch (err) {
      const { outcome, error } = failureOf(err);
      await audit(outcome, { error });
      throw err;
    }
    if (result.outcome !== 'applied') {
      // A commit that could not be rolled back may have changed files after all.
      if (result.outcome === 'failed') await filesChanged(services, row);
      const err = refusal(result);
      await audit('failure', { error: err.code, result: result.outcome, files: issueCount(result) });
      throw err;
    }
    await filesChanged(services, row);
    const count = (action: string) => result.files.filter((f) => f.action === action).length;
    await audit('success', {
      files: result.files.length,
      created: count('created'),
      modified: count('modified'),
      deleted: count('deleted'),
      renamed: count('renamed'),
      bytesWritten: result.bytesWritten,
    });
    const body: PatchApplyResponse = { files: result.files };
    return reply(c, routes.applyPatch, 200, body);
  });

  return app;
}

/** The one audit event of an apply: the diff's hash and size, never its text. */
function auditApply(c: Context<AppEnv>, workspaceId: string, base: AuditMetadata) {
  return (outcome: 'success' | 'failure' | 'denied', extra: AuditMetadata) =>
    auditByCaller(c, { action: 'patch.apply', outcome, workspaceId, metadata: { ...base, ...extra } });
}

function issueCount(result: PatchJobResult): number {
  return 'issues' in result ? new Set(result.issues.map((i) => i.path)).size : 0;
}

/** Why a patch was not applied, as the API says it: the files at fault are the issues. */
function refusal(result: PatchJobResult): ApiError {
  switch (result.outcome) {
    case 'invalid':
      return new ApiError('invalid_patch', result.message, result.issues);
    case 'conflict':
      return new ApiError('conflict', result.message, result.issues);
    case 'failed':
      // Rolled back: the workspace is as it was, so trying again later is the right move.
      return result.rolledBack
        ? new ApiError('conflict', `${result.message}; nothing was changed`)
        : new ApiError('internal_error', 'The patch failed part-way and could not be undone completely');
    default:
      return new ApiError('internal_error', 'The runner answered a patch job unexpectedly');
  }
}
