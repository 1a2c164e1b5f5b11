import { createHash } from 'node:crypto';
import {
  type AiConfigResponse,
  type AiKind,
  ChatRequest,
  ExplainRequest,
  type LineRange,
  RewriteRequest,
} from '@keel/contract/ai';
import { aiRoutes as routes } from '@keel/contract/api/ai';
import type { RunnerJob } from '@keel/contract/jobs';
import { AI_STREAM_TTL_SECONDS, runnerKeys } from '@keel/contract/keys';
import { type RunnerHeartbeat, RunnerHeartbeat as RunnerHeartbeatSchema } from '@keel/contract/runners';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { WorkspaceStatus } from '@keel/contract/workspaces';
import { runners } from '@keel/drizzle/schema';
import { and, eq, isNull, or } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { workspaceRelative } from '../ai/paths.ts';
import { cursorFrom, relayAiStream, streamState } from '../ai/relay.ts';
import {
  AI_META_ENTRY_ID,
  AI_START_WAIT_MS,
  type AiStreamRecord,
  metaOf,
  openStream,
  ownStream,
  streamKeyOf,
} from '../ai/stream-record.ts';
import {
  type Approval,
  approvalFor,
  rememberApproval,
  type WarmStarted,
  warmStart,
} from '../ai/warm-start.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes } from '../http/described-routes.ts';
import { readJson, readParams, readQuery } from '../http/validate.ts';
import { newId } from '../ids.ts';
import {
  authenticate,
  confirmSession,
  type VerifiedCaller,
  verifyCaller,
} from '../middleware/authenticate.ts';
import { assertRole, requireRole } from '../middleware/require-role.ts';
import { heartbeatsOf } from '../runners/registry.ts';
import { setBounded } from '../services/bounded-map.ts';
import { hitRateLimit } from '../services/rate-limit.ts';
import type { Services } from '../services/services.ts';
import { loadWorkspace, loadWorkspaceEntry, type WorkspaceRow } from '../workspaces/access.ts';
import type { OutputEntry, OutputReader } from '../workspaces/output-reader.ts';

export const NOT_CONFIGURED_HINT =
  'No model is configured for this workspace’s runner: set KEEL_AI_BASE_URL (an OpenAI-compatible API such as vLLM, e.g. http://gpu-host:8000/v1) and KEEL_AI_MODEL on the runner, then restart it';

/** What the audit event will say about the files of a call. */
interface CallDetails {
  /** The file asked about (explain, rewrite); only its hash is kept. */
  path: string | null;
  /** How many files a chat named. */
  paths: number;
}

const StreamParams = z.object({ streamId: z.string().max(64) });
const ConfigQuery = z.object({ workspaceId: z.string().max(128).optional() });

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
interface CallRequestOf {
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
async function startRoute<S extends z.ZodType>(
  c: Context<AppEnv>,
  kind: AiKind,
  schema: S,
  toCall: (input: z.output<S>) => CallRequestOf,
): Promise<Response> {
  const caller = await verifyCaller(c);
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
  await assertRole(c, 'developer');
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

/**
 * SHA-256 of the path asked about, for the audit event. Synchronous: Web Crypto's digest is a
 * trip through the thread pool, as long as the rest of a warm start. (Redis's client already
 * brings node:crypto to workerd too.)
 */
function pathDigest(path: string | null): string | null {
  return path === null ? null : createHash('sha256').update(path).digest('hex');
}

/** Per person: a GPU is shared, and a loop in one client should not hog it. */
function aiRate(services: Services, userId: string) {
  return {
    key: `${services.config.redisPrefix}rl:ai:${userId}`,
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
      hitRateLimit(redis, rate.key, rate.limit, rate.windowSeconds),
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
  await openStream(services, record, call.job(record.streamId));
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

/** Whether any runner this caller may use has a model (or the given workspace's runner). */
async function aiConfig(c: Context<AppEnv>, services: Services): Promise<AiConfigResponse> {
  const { workspaceId } = readQuery(c, ConfigQuery);
  let ids: string[];
  if (workspaceId) {
    const row = await loadWorkspace(c, workspaceId);
    ids = row.runnerId ? [row.runnerId] : [];
  } else {
    const organizationId = c.get('principal').organizationId;
    const rows = await services.db
      .select({ id: runners.id })
      .from(runners)
      .where(
        and(
          or(eq(runners.organizationId, organizationId), isNull(runners.organizationId)),
          isNull(runners.revokedAt),
        ),
      );
    ids = rows.map((r) => r.id);
  }
  const beats = await heartbeatsOf(services, ids);
  const model = [...beats.values()].find((b) => b.ai?.configured && b.ai.model)?.ai?.model ?? null;
  return { configured: model !== null, model, hint: model === null ? NOT_CONFIGURED_HINT : null };
}

/** The fields every call about one file carries, and what its start needs. */
interface FileCallBase {
  v: typeof CONTRACT_VERSION;
  streamId: string;
  workspaceId: string;
  path: string;
  range?: LineRange;
}

/** A call about one file (explain, rewrite), its path made workspace-relative first. */
function aboutFile(
  input: { workspaceId: string; path: string; range?: LineRange | undefined },
  job: (base: FileCallBase) => RunnerJob,
): CallRequestOf {
  const path = workspaceRelative(input.path);
  return {
    workspaceId: input.workspaceId,
    details: { path, paths: 1 },
    job: (streamId) =>
      job({
        v: CONTRACT_VERSION,
        streamId,
        workspaceId: input.workspaceId,
        path,
        ...(input.range ? { range: input.range } : {}),
      }),
  };
}

export function aiRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/ai');
  // The three starts authenticate in their handler (see startRoute), so they come before the
  // middleware that authenticates every other route here: a handler that answers ends the chain.
  on(routes.explain, (c) =>
    startRoute(c, 'explain', ExplainRequest, (input) =>
      aboutFile(input, (base) => ({
        ...base,
        type: 'ai.explain',
        ...(input.question ? { question: input.question } : {}),
      })),
    ),
  );

  on(routes.rewrite, (c) =>
    startRoute(c, 'rewrite', RewriteRequest, (input) =>
      aboutFile(input, (base) => ({ ...base, type: 'ai.rewrite', instruction: input.instruction })),
    ),
  );

  on(routes.chat, (c) =>
    startRoute(c, 'chat', ChatRequest, (input) => {
      const paths = input.paths?.map(workspaceRelative);
      return {
        workspaceId: input.workspaceId,
        details: { path: null, paths: paths?.length ?? 0 },
        job: (streamId) => ({
          v: CONTRACT_VERSION,
          type: 'ai.chat',
          streamId,
          workspaceId: input.workspaceId,
          messages: input.messages,
          ...(paths?.length ? { paths } : {}),
        }),
      };
    }),
  );

  app.use('*', authenticate());

  on(routes.aiConfig, async (c) => c.json(await aiConfig(c, c.get('services'))));

  on(routes.aiStreamEvents, async (c) => {
    const services = c.get('services');
    const record = await ownStream(services, c.get('principal'), readParams(c, StreamParams).streamId);
    const streamKey = streamKeyOf(services, record);
    const cursor = cursorFrom(c);
    const state = await streamState(services.redis(), streamKey, cursor);
    if (state === 'missing') throw new ApiError('not_found', 'No such AI stream');
    // The client already has the `done`: 204 tells an EventSource to stop reconnecting.
    if (state === 'finished') return c.body(null, 204);
    c.header('x-keel-stream-id', record.streamId);
    return relayAiStream(c, { record, cursor });
  });

  on(routes.cancelAiStream, requireRole('developer'), async (c) => {
    const services = c.get('services');
    const record = await ownStream(services, c.get('principal'), readParams(c, StreamParams).streamId);
    const keys = runnerKeys(services.config.redisPrefix, record.runnerId);
    // The marker stops a call the runner has not started yet; the one-way call stops one in
    // flight. Both leave in one round trip.
    await services.queue
      .oneWay(
        services.redis().multi().set(keys.aiCancel(record.streamId), '1', 'EX', AI_STREAM_TTL_SECONDS),
        `runner.${record.runnerId}`,
        { v: CONTRACT_VERSION, type: 'ai.cancel', streamId: record.streamId },
        AI_START_WAIT_MS,
      )
      .exec();
    return c.json({ streamId: record.streamId, cancelling: true }, 202);
  });

  return app;
}
