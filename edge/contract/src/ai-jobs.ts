import { z } from 'zod';
import { AiKind, AiStreamId, ChatMessage, LineRange } from './ai.ts';
import { CONTRACT_VERSION } from './version.ts';

/**
 * The runner's side of the AI routes: the jobs the edge enqueues, the summary the runner
 * reports when a call ends, the failure codes `done` carries, and the admin usage read.
 * The routes and stream events themselves are in `ai.ts`.
 */
const v = z.literal(CONTRACT_VERSION);
const workspaceId = z.string().min(1).max(64);
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().min(0);

export const AiExplainJob = z.object({
  v,
  type: z.literal('ai.explain'),
  streamId: AiStreamId,
  workspaceId,
  path: z.string().min(1).max(4096),
  range: LineRange.optional(),
  question: z.string().max(8_000).optional(),
});

export const AiRewriteJob = z.object({
  v,
  type: z.literal('ai.rewrite'),
  streamId: AiStreamId,
  workspaceId,
  path: z.string().min(1).max(4096),
  range: LineRange.optional(),
  instruction: z.string().min(1).max(8_000),
});

export const AiChatJob = z.object({
  v,
  type: z.literal('ai.chat'),
  streamId: AiStreamId,
  workspaceId,
  messages: z.array(ChatMessage).min(1).max(100),
  paths: z.array(z.string().min(1).max(4096)).max(20).optional(),
});

/** Stops the model call of a stream; also marks it so a job not yet started never calls the model. */
export const AiCancelJob = z.object({ v, type: z.literal('ai.cancel'), streamId: AiStreamId });

export type AiExplainJob = z.infer<typeof AiExplainJob>;
export type AiRewriteJob = z.infer<typeof AiRewriteJob>;
export type AiChatJob = z.infer<typeof AiChatJob>;
export type AiCancelJob = z.infer<typeof AiCancelJob>;
export type AiCallJob = AiExplainJob | AiRewriteJob | AiChatJob;

/**
 * Codes in `done.error.code` (AiDone in ai.ts). Each comes with fixed text; neither ever holds
 * the prompt, the code or the answer.
 */
export const AiFailureCode = z.enum([
  /** The runner has no model configured (KEEL_AI_BASE_URL / KEEL_AI_MODEL). */
  'ai_not_configured',
  /** The model server could not be reached. */
  'model_unavailable',
  /** No first token, or no end of the answer, within the configured time. */
  'model_timeout',
  /** The model server answered with an error, or the answer broke off. */
  'model_error',
  'invalid_path',
  'not_found',
  /** The file, or the part to rewrite, is larger than what can be sent. */
  'too_large',
  /** The file is not UTF-8 text. */
  'not_text',
  /** The selected lines are not in the file. */
  'invalid_range',
  'workspace_not_running',
  /** The runner stopped answering while the model call ran (written by the edge). */
  'runner_offline',
  /** The runner restarted while the model call ran. */
  'runner_restarted',
  /** The runner did not get to the call in time (every slot busy, or it was down). */
  'runner_busy',
  'internal',
]);
export type AiFailureCode = z.infer<typeof AiFailureCode>;

/**
 * What a runner reports to `POST /api/runners/ai-reports` when a model call ends, whoever was
 * watching the stream: hashes, sizes, counts and timings, never text. The edge attributes it
 * (user, organization, workspace) from its own record of the stream, not from the report.
 */
export const AiCallReport = z.strictObject({
  v,
  streamId: AiStreamId,
  kind: AiKind,
  outcome: z.enum(['success', 'failure', 'cancelled']),
  errorCode: AiFailureCode.optional(),
  /** The model that answered (as the server named it), or the configured one. */
  model: z.string().min(1).max(256),
  /** SHA-256 of the messages sent to the model (JSON), absent when the call failed before them. */
  promptSha256: Sha256.optional(),
  promptBytes: count,
  answerSha256: Sha256,
  answerBytes: count,
  /** Rewrite only. */
  diffSha256: Sha256.optional(),
  diffBytes: count.optional(),
  /** Rewrite only: the hash of the file the diff applies to. */
  baseSha256: Sha256.optional(),
  /** Files whose content (whole or in part) went into the prompt. */
  contextFiles: count,
  promptTokens: count,
  completionTokens: count,
  /** True when the server sent no usage and the runner counted the tokens itself. */
  tokensEstimated: z.boolean(),
  /** From the runner taking the job (file reads and prompt included) to the first token; null: none came. */
  firstTokenMs: count.nullable(),
  /** From the runner taking the job to the end of the answer. */
  latencyMs: count,
});
export type AiCallReport = z.infer<typeof AiCallReport>;

/** SHA-256 of no bytes: the answer hash of a call that got none. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * The report of a call that ended before any answer: nothing sent (or nothing known of it),
 * nothing answered. Made by the runner for a call it could not take in time or lost in a
 * restart, and by the edge for a call whose runner went offline.
 */
export function unansweredReport(
  streamId: string,
  kind: AiKind,
  model: string,
  code: AiFailureCode,
): AiCallReport {
  return {
    v: CONTRACT_VERSION,
    streamId,
    kind,
    outcome: 'failure',
    errorCode: code,
    model,
    promptBytes: 0,
    answerSha256: EMPTY_SHA256,
    answerBytes: 0,
    contextFiles: 0,
    promptTokens: 0,
    completionTokens: 0,
    tokensEstimated: true,
    firstTokenMs: null,
    latencyMs: 0,
  };
}

/** `GET /api/admin/usage?since=&until=` (admins): AI use of the caller's organization in a window. */
export const AiUsageQuery = z.strictObject({
  /** ISO 8601; default 30 days before `until`. */
  since: z.iso.datetime({ offset: true }).optional(),
  /** ISO 8601; default now. */
  until: z.iso.datetime({ offset: true }).optional(),
});

export const AiUsageTotals = z.object({
  calls: count,
  failures: count,
  cancelled: count,
  promptTokens: count,
  completionTokens: count,
  /** Means over the calls that have them; null when there are none. */
  meanFirstTokenMs: z.number().nullable(),
  meanLatencyMs: z.number().nullable(),
});
export type AiUsageTotals = z.infer<typeof AiUsageTotals>;

export const AiUsageResponse = z.object({
  since: z.string(),
  until: z.string(),
  organization: AiUsageTotals.extend({ organizationId: z.string() }),
  users: z.array(AiUsageTotals.extend({ userId: z.string(), email: z.string().nullable() })),
  models: z.array(AiUsageTotals.extend({ model: z.string() })),
  kinds: z.array(AiUsageTotals.extend({ kind: z.string() })),
  /** Each UTC day of the window that had calls, oldest first (`YYYY-MM-DD`). */
  days: z.array(AiUsageTotals.extend({ day: z.string() })).optional(),
  /** The busiest workspaces; calls made outside any workspace have `workspaceId` null. */
  workspaces: z.array(AiUsageTotals.extend({ workspaceId: z.string().nullable() })).optional(),
});
export type AiUsageResponse = z.infer<typeof AiUsageResponse>;
