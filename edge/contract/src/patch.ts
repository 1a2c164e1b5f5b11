import { z } from 'zod';
import { CONTRACT_VERSION } from './version.ts';

/**
 * Patches are the only way AI changes reach files. A patch is a unified diff (git style:
 * `--- a/x` / `+++ b/x`, `/dev/null` for creates and deletes, `rename from/to` headers).
 */
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const PatchValidateRequest = z.strictObject({
  workspaceId: z.string().min(1).max(128),
  patch: z
    .string()
    .min(1)
    .max(4 * 1024 * 1024),
});
export type PatchValidateRequest = z.infer<typeof PatchValidateRequest>;

export const PatchFileReport = z.object({
  path: z.string(),
  /** The hash of the file as it is now; null when it does not exist. */
  baseSha256: Sha256.nullable(),
  applies: z.boolean(),
  conflicts: z.array(z.string()),
});
export type PatchFileReport = z.infer<typeof PatchFileReport>;

export const PatchValidateResponse = z.object({ ok: z.boolean(), files: z.array(PatchFileReport) });
export type PatchValidateResponse = z.infer<typeof PatchValidateResponse>;

export const PatchApplyRequest = z.strictObject({
  workspaceId: z.string().min(1).max(128),
  patch: z
    .string()
    .min(1)
    .max(4 * 1024 * 1024),
  /** path → the hash the client saw; any mismatch is a 409 and nothing is written. */
  expected: z.record(z.string().max(4096), Sha256).optional(),
});
export type PatchApplyRequest = z.infer<typeof PatchApplyRequest>;

export const PatchApplyResponse = z.object({
  files: z.array(
    z.object({
      path: z.string(),
      action: z.enum(['modified', 'created', 'deleted', 'renamed']),
      /** The new content's hash; null for a deleted file. */
      sha256: Sha256.nullable(),
      from: z.string().optional(),
    }),
  ),
});
export type PatchApplyResponse = z.infer<typeof PatchApplyResponse>;

/** One finding about a refused patch: the file (or `(patch)`) and what is wrong there. */
export const PatchIssue = z.object({ path: z.string(), message: z.string() });
export type PatchIssue = z.infer<typeof PatchIssue>;

/**
 * What a runner answers for `patch.validate` and `patch.apply`. Refusals are values, not
 * job errors, so the edge can say which files conflict: `invalid` is the patch's fault
 * (422), `conflict` the workspace's (409), `failed` an operation that broke mid-commit
 * (`rolledBack` says whether the workspace is as it was).
 */
export const PatchJobResult = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('checked'), ok: z.boolean(), files: z.array(PatchFileReport) }),
  z.object({
    outcome: z.literal('applied'),
    files: PatchApplyResponse.shape.files,
    bytesWritten: z.number().int().nonnegative(),
  }),
  z.object({ outcome: z.literal('conflict'), message: z.string(), issues: z.array(PatchIssue) }),
  z.object({ outcome: z.literal('invalid'), message: z.string(), issues: z.array(PatchIssue) }),
  z.object({ outcome: z.literal('failed'), message: z.string(), rolledBack: z.boolean() }),
]);
export type PatchJobResult = z.infer<typeof PatchJobResult>;

const v = z.literal(CONTRACT_VERSION);
const workspaceId = z.string().min(1).max(64);

export const PatchValidateJob = z.object({
  v,
  type: z.literal('patch.validate'),
  workspaceId,
  patch: z.string(),
});
export const PatchApplyJob = z.object({
  v,
  type: z.literal('patch.apply'),
  workspaceId,
  patch: z.string(),
  /** path → the SHA-256 the client saw; checked under the files' locks before anything is written. */
  expected: z.record(z.string(), z.string()).optional(),
});
