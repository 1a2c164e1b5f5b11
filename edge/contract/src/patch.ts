import { z } from 'zod';

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
