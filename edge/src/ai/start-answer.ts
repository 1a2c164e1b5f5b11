/*
 * How a model call starts, from a verified request to its answer streaming back: the
 * one-round-trip warm start when the caller's session was approved on the workspace before,
 * else the full checks (workspace, runner, model, status, rate), the stream opened and the
 * call sent. The routes in routes/ai.ts parse the request and hand it here.
 */

import type { AiKind } from '@keel/contract/ai';
import { aiRoutes } from '@keel/contract/api/ai';
import type { RunnerJob } from '@keel/contract/jobs';
import { runnerKeys } from '@keel/contract/keys';
import { type RunnerHeartbeat, RunnerHeartbeat as RunnerHeartbeatSchema } from '@keel/contract/runners';
import { WorkspaceStatus } from '@keel/contract/workspaces';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { assertAccess } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readJson } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { confirmSession, type VerifiedCaller, verifyCaller } from '../middleware/authenticate.ts';
import { assertAiTokensLeft } from '../plans/plan-limits.ts';
import { aiRateKey } from '../redis-keys.ts';
import { setBounded } from '../services/bounded-map.ts';
import { hitRateLimit } from '../services/rate-limit.ts';
import type { Services } from '../services.ts';
import { loadWorkspaceEntry, type WorkspaceRow } from '../workspaces/access.ts';
import type { OutputEntry, OutputReader } from '../workspaces/output-reader.ts';
import { relayAiStream } from './relay.ts';
import { AI_META_ENTRY_ID, type AiStreamRecord, metaOf, openStream } from './stream-record.ts';
import { type Approval, approvalFor, rememberApproval, type WarmStarted, warmStart } from './warm-start.ts';

export const NOT_CONFIGURED_HINT =
  'No model is configured for this workspace’s runner: set KEEL_AI_BASE_URL (an OpenAI-compatible API such as vLLM, e.g. http://gpu-host:8000/v1) and KEEL_AI_MODEL on the runner, then restart it';

/** What the audit event will say about the files of a call. */
interface CallDetails {
  /** The file asked about (explain, rewrite); only its hash is kept. */
  path: string | null;
  /** How many files a chat named. */
  paths: number;
}

function parseHeartbeat(raw: string | null | undefined): RunnerHeartbeat | undefined {
  if (!raw) return undefined;
  try {
    const parsed = RunnerHeartbeatSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function liveStatus(raw: string | null | undefined, row: WorkspaceRow): string {
  if (raw) {
    try {
      const parsed = WorkspaceStatus.safeParse((JSON.parse(raw) as { status?: unknown }).status);
      if (parsed.success) return parsed.data;
    } catch {
      // A malformed status counts as none: the stored one stands.
    }
  }
  return row.status;
}

/** What a start route asks for: the workspace, what the audit event says, and the call itself. */
export interface CallRequestOf {
  workspaceId: string;
  details: CallDetails;
  job: (streamId: string) => RunnerJob;
}

/**
 * Starts a model call and answers with its SSE stream. Authentication happens here, not in
 * middleware: a caller whose session already had a call approved on this workspace is
 * admitted in one Redis round trip that also opens the stream (ai/warm-start), and anything
 * that differs sends the request the full way, which checks and answers as before. The
 * token, then the session and role, then the body: errors come in the middleware's order.
 */
export async function startRoute<S extends z.ZodType>(
  c: Context<AppEnv>,
  kind: AiKind,
  schema: S,
  toCall: (input: z.output<S>) => CallRequestOf,
): Promise<Response> {
  const caller = await verifyCaller(c);
  // Nothing to read unless the organization's plan limits its tokens.
  await assertAiTokensLeft(c, caller.organizationId);
  // A body that fails (schema, or a path outside the workspace) is refused after the session check.
  const body = await readJson(c, schema)
    .then((input) => ({ call: toCall(input) }))
    .catch((error: unknown) => ({ error }));
  if ('call' in body) {
    const approval = approvalFor(caller, body.call.workspaceId);
    if (approval) {
      const warm = await startWarm(c, kind, caller, approval, body.call);
      if (warm) return warm;
    }
  }
  const sessionEntry = await confirmSession(c, caller);
  await assertAccess(c, aiRoutes[kind].access);
  if ('error' in body) throw body.error;
  return startCall(c, kind, body.call, sessionEntry);
}

/** The one-round-trip start (see ai/warm-start); undefined when the full path must decide. */
async function startWarm(
  c: Context<AppEnv>,
  kind: AiKind,
  caller: VerifiedCaller,
  approval: Approval,
  call: CallRequestOf,
): Promise<Response | undefined> {
  const services = c.get('services');
  const reader = services.readers.take();
  const record = newRecord(kind, call, caller, approval.runnerId, approval.model);
  let started: WarmStarted | null;
  try {
    started = await warmStart(
      services,
      {
        caller,
        approval,
        record,
        job: call.job(record.streamId),
        rate: aiRate(services, caller.userId),
        trace: jobTraceOf(c),
      },
      reader,
    );
  } catch (err) {
    // Not the full path: had the script run before its answer was lost, the call would go twice.
    services.readers.give(reader);
    throw err;
  }
  if (started === null) {
    services.readers.give(reader);
    return undefined;
  }
  c.set('principal', {
    userId: caller.userId,
    organizationId: caller.organizationId,
    role: approval.role,
    installAdmin: approval.installAdmin,
    sessionId: caller.sessionId,
    via: caller.via,
  });
  return relayNewStream(c, record, reader, started.firstRead);
}

/** The answer to a start: the stream just opened, from its `meta` entry (written, not read back). */
function relayNewStream(
  c: Context<AppEnv>,
  record: AiStreamRecord,
  reader: OutputReader,
  firstRead?: Promise<OutputEntry[] | null>,
) {
  c.header('x-keel-stream-id', record.streamId);
  return relayAiStream(c, {
    record,
    cursor: AI_META_ENTRY_ID,
    written: { event: 'meta', data: metaOf(record) },
    reader,
    ...(firstRead ? { firstRead } : {}),
  });
}

/** The edge's record of a new stream (see stream-record.ts). */
function newRecord(
  kind: AiKind,
  call: CallRequestOf,
  who: { userId: string; organizationId: string },
  runnerId: string,
  model: string,
): AiStreamRecord {
  return {
    streamId: newId('aiStream'),
    kind,
    runnerId,
    organizationId: who.organizationId,
    userId: who.userId,
    workspaceId: call.workspaceId,
    model,
    pathSha256: pathDigest(call.details.path),
    paths: call.details.paths,
  };
}

/** SHA-256 of the path asked about, for the audit event. */
function pathDigest(path: string | null): string | null {
  return path === null ? null : sha256Hex(path);
}

/** Per person: a GPU is shared, and a loop in one client should not hog it. */
function aiRate(services: Services, userId: string) {
  return {
    key: aiRateKey(services, userId),
    limit: services.config.aiRateLimitPerMinute,
    windowSeconds: 60,
  };
}

/**
 * The full path: everything a model call needs before its stream opens, each failure a
 * 4xx/5xx JSON error: the workspace (404 unless the caller's), its runner online (503), a
 * model on that runner (503 ai_not_configured, without queueing anything), the workspace
 * running (409), the caller's rate (429). Then the stream and its record are made, the call
 * is sent, and the answer is relayed as SSE on this same response. What it approved is
 * remembered for the next call's one-round-trip start.
 */
async function startCall(
  c: Context<AppEnv>,
  kind: AiKind,
  call: CallRequestOf,
  sessionEntry: string,
): Promise<Response> {
  // Taken (or connecting) while the checks run, not after: time to first token is what a person waits for.
  const reader = c.get('services').readers.take();
  try {
    return await checkAndStart(c, kind, call, sessionEntry, reader);
  } catch (err) {
    c.get('services').readers.give(reader);
    throw err;
  }
}

async function checkAndStart(
  c: Context<AppEnv>,
  kind: AiKind,
  call: CallRequestOf,
  sessionEntry: string,
  reader: OutputReader,
): Promise<Response> {
  const services = c.get('services');
  const p = c.get('principal');
  const { workspaceId } = call;
  const redis = services.redis();
  const rate = aiRate(services, p.userId);
  const checks = (runnerId: string) =>
    Promise.all([
      redis.mget(
        runnerKeys(services.config.redisPrefix, runnerId).heartbeat,
        runnerKeys(services.config.redisPrefix, runnerId).workspaceStatus(workspaceId),
      ),
      hitRateLimit(services.commands, rate.key, rate.limit, rate.windowSeconds),
    ]);
  // A workspace keeps the runner it was placed on, so the runner's state can be asked for in
  // the same round trip as the workspace row, not after it. Nothing is decided on it before
  // the row (and the caller's right to it) is confirmed.
  const known = runnerOfWorkspace.get(workspaceId);
  const early = known ? checks(known) : undefined;
  early?.catch(() => {});
  const { row, entry: rowEntry } = await loadWorkspaceEntry(c, workspaceId);
  if (!row.runnerId)
    throw new ApiError('runner_unavailable', 'This workspace has no runner; create it again');
  setBounded(runnerOfWorkspace, workspaceId, row.runnerId, REMEMBERED_WORKSPACES);
  const [[beatRaw, statusRaw], allowed] = await (early && known === row.runnerId
    ? early
    : checks(row.runnerId));
  const beat = parseHeartbeat(beatRaw);
  if (!beat) throw new ApiError('runner_unavailable', 'The workspace’s runner is offline; try again shortly');
  if (!beat.ai?.configured || !beat.ai.model) throw new ApiError('ai_not_configured', NOT_CONFIGURED_HINT);
  if (liveStatus(statusRaw, row) !== 'running') {
    throw new ApiError('workspace_not_running', 'The workspace is not running; start it first');
  }
  if (!allowed.allowed) {
    c.header('Retry-After', String(allowed.retryAfterSeconds));
    throw new ApiError(
      'rate_limited',
      `At most ${rate.limit} AI requests a minute; try again in ${allowed.retryAfterSeconds} s`,
    );
  }

  const record = newRecord(kind, call, p, row.runnerId, beat.ai.model);
  // A one-way call, not a BullMQ job: what a person waits for is the first token, and a
  // job's bookkeeping on both sides cost more than the rest of the start. The call is taken
  // once (a model call is never repeated behind the caller's back), and the question or the
  // chat leaves Redis as soon as the runner has popped it.
  await openStream(services, record, call.job(record.streamId), jobTraceOf(c));
  rememberApproval(p.sessionId, row.id, {
    sessionEntry,
    rowEntry,
    userId: p.userId,
    organizationId: p.organizationId,
    role: p.role,
    installAdmin: p.installAdmin,
    runnerId: row.runnerId,
    model: beat.ai.model,
  });
  return relayNewStream(c, record, reader);
}

/** Workspace → the runner it was placed on (which never changes), for the checks above. */
const runnerOfWorkspace = new Map<string, string>();
const REMEMBERED_WORKSPACES = 10_000;
