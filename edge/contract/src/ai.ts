import { z } from 'zod';
import { WorkspacePath } from './workspaces.ts';

/**
 * AI routes. Each POST answers with Server-Sent Events straight away (`text/event-stream`, the
 * stream id in the `x-keel-stream-id` header and in the first `meta` event). A client that loses
 * the connection resumes with `GET /api/ai/streams/:streamId/events` and `Last-Event-ID`;
 * `POST /api/ai/streams/:streamId/cancel` stops the model call. Nothing of the prompt, the code
 * or the answer is kept by the edge: it lives in the capped, expiring output stream only.
 *
 * Events (every one with an `id`):
 * - `meta`   data: JSON {@link AiStreamMeta}
 * - `token`  data: the next piece of the answer (text; for rewrite, progress of the model's code)
 * - `result` data: JSON {@link RewriteResult} (rewrite only, once, before `done`)
 * - `done`   data: JSON {@link AiDone} (always last, also after an error or cancel)
 */
export const AiStreamId = z.string().regex(/^ais_[a-z2-7]{20}$/);

/** Lines are 1-based and inclusive; columns are ignored (whole lines are sent). */
export const LineRange = z
  .strictObject({ startLine: z.number().int().min(1), endLine: z.number().int().min(1) })
  .refine((r) => r.endLine >= r.startLine, { message: 'endLine must not be before startLine' });
export type LineRange = z.infer<typeof LineRange>;

export const ExplainRequest = z.strictObject({
  workspaceId: z.string().min(1).max(128),
  path: WorkspacePath,
  range: LineRange.optional(),
  question: z.string().max(8_000).optional(),
});
export type ExplainRequest = z.infer<typeof ExplainRequest>;

export const RewriteRequest = z.strictObject({
  workspaceId: z.string().min(1).max(128),
  path: WorkspacePath,
  range: LineRange.optional(),
  instruction: z.string().min(1).max(8_000),
});
export type RewriteRequest = z.infer<typeof RewriteRequest>;

export const ChatMessage = z.strictObject({
  role: z.enum(['user', 'assistant']),
  content: z.string().min(1).max(64_000),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

export const ChatRequest = z.strictObject({
  workspaceId: z.string().min(1).max(128),
  messages: z
    .array(ChatMessage)
    .min(1)
    .max(100)
    .refine((m) => m[m.length - 1]?.role === 'user', { message: 'the last message must be the user’s' }),
  /** Files whose content (and local imports) are given to the model as context. */
  paths: z.array(WorkspacePath).max(20).optional(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

export const AiKind = z.enum(['explain', 'rewrite', 'chat']);
export type AiKind = z.infer<typeof AiKind>;

export const AiStreamMeta = z.object({ streamId: AiStreamId, kind: AiKind, model: z.string() });
export type AiStreamMeta = z.infer<typeof AiStreamMeta>;

export const RewriteResult = z.object({
  path: z.string(),
  /** A unified diff (`--- a/path` / `+++ b/path`) from the file's current content to the model's. */
  diff: z.string(),
  baseSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type RewriteResult = z.infer<typeof RewriteResult>;

export const AiDone = z.object({
  outcome: z.enum(['success', 'failure', 'cancelled']),
  usage: z.object({ promptTokens: z.number().int(), completionTokens: z.number().int() }).optional(),
  /** A stable code and a readable message when outcome is failure (never the prompt's text). */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type AiDone = z.infer<typeof AiDone>;

/** `GET /api/ai/config` → whether the caller's runners have a model, for the UI's hint. */
export const AiConfigResponse = z.object({
  configured: z.boolean(),
  model: z.string().nullable(),
  hint: z.string().nullable(),
});
export type AiConfigResponse = z.infer<typeof AiConfigResponse>;
