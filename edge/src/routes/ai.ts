import {
  type AiConfigResponse,
  type AiKind,
  ChatRequest,
  ExplainRequest,
  RewriteRequest,
} from '@keel/contract/ai';
import type { RunnerJob } from '@keel/contract/jobs';
import { AI_STREAM_TTL_SECONDS, runnerKeys } from '@keel/contract/keys';
import { type RunnerHeartbeat, RunnerHeartbeat as RunnerHeartbeatSchema } from '@keel/contract/runners';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { WorkspaceStatus } from '@keel/contract/workspaces';
import { runners } from '@keel/drizzle/schema';
import { and, eq, isNull, or } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { workspaceRelative } from '../ai/paths.ts';
import { cursorFrom, relayAiStream, streamState } from '../ai/relay.ts';
import {
  AI_START_WAIT_MS,
  type AiStreamRecord,
  openStream,
  ownStream,
  streamKeyOf,
} from '../ai/stream-record.ts';
import type { AppEnv } from '../app-env.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { readJson, readParams, readQuery } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { authenticate } from '../middleware/authenticate.ts';
import { requireRole } from '../middleware/require-role.ts';
import { heartbeatsOf } from '../runners/registry.ts';
import { setBounded } from '../services/bounded-map.ts';
import { hitRateLimit } from '../services/rate-limit.ts';
import type { Services } from '../services/services.ts';
import { loadWorkspace, type WorkspaceRow } from '../workspaces/access.ts';

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

/**
 * Everything a model call needs before its stream opens, each failure a 4xx/5xx JSON error:
 * the workspace (404 unless the caller's), its runner online (503), a model on that runner
 * (503 ai_not_configured, without queueing anything), the workspace running (409), the
 * caller's rate (429). Then the stream and its record are made, the job is queued, and the
 * answer is relayed as SSE on this same response.
 */
async function startCall(
  c: Context<AppEnv>,
  kind: AiKind,
  workspaceId: string,
  details: CallDetails,
  job: (streamId: string) => RunnerJob,
): Promise<Response> {
  const services = c.get('services');
  // The connection for the stream's blocking reads connects while the checks run, not after:
  // time to first token is what a person waits for. (No ready check: its INFO is one more round trip.)
  const reader = services.redis().duplicate({ enableReadyCheck: false });
  try {
    return await checkAndStart(c, kind, workspaceId, details, job, reader);
  } catch (err) {
    reader.disconnect();
    throw err;
  }
}

async function checkAndStart(
  c: Context<AppEnv>,
  kind: AiKind,
  workspaceId: string,
  details: CallDetails,
  job: (streamId: string) => RunnerJob,
  reader: Redis,
): Promise<Response> {
  const services = c.get('services');
  const p = c.get('principal');
  // Started now, needed only for the record: the digest runs while Redis answers.
  const pathSha256 = details.path === null ? Promise.resolve(null) : sha256Hex(details.path);
  pathSha256.catch(() => {});
  const redis = services.redis();
  const checks = (runnerId: string) =>
    Promise.all([
      redis.mget(
        runnerKeys(services.config.redisPrefix, runnerId).heartbeat,
        runnerKeys(services.config.redisPrefix, runnerId).workspaceStatus(workspaceId),
      ),
      // Per person: a GPU is shared, and a loop in one client should not hog it.
      hitRateLimit(
        redis,
        `${services.config.redisPrefix}rl:ai:${p.userId}`,
        services.config.aiRateLimitPerMinute,
        60,
      ),
    ]);
  // A workspace keeps the runner it was placed on, so the runner's state can be asked for in
  // the same round trip as the workspace row, not after it. Nothing is decided on it before
  // the row (and the caller's right to it) is confirmed.
  const known = runnerOfWorkspace.get(workspaceId);
  const early = known ? checks(known) : undefined;
  early?.catch(() => {});
  const row = await loadWorkspace(c, workspaceId);
  if (!row.runnerId)
    throw new ApiError('runner_unavailable', 'This workspace has no runner; create it again');
  setBounded(runnerOfWorkspace, workspaceId, row.runnerId, REMEMBERED_WORKSPACES);
  const keys = runnerKeys(services.config.redisPrefix, row.runnerId);
  const [[beatRaw, statusRaw], rate] = await (early && known === row.runnerId ? early : checks(row.runnerId));
  const beat = parseHeartbeat(beatRaw);
  if (!beat) throw new ApiError('runner_unavailable', 'The workspace’s runner is offline; try again shortly');
  if (!beat.ai?.configured || !beat.ai.model) throw new ApiError('ai_not_configured', NOT_CONFIGURED_HINT);
  if (liveStatus(statusRaw, row) !== 'running') {
    throw new ApiError('workspace_not_running', 'The workspace is not running; start it first');
  }
  if (!rate.allowed) {
    c.header('Retry-After', String(rate.retryAfterSeconds));
    throw new ApiError(
      'rate_limited',
      `At most ${services.config.aiRateLimitPerMinute} AI requests a minute; try again in ${rate.retryAfterSeconds} s`,
    );
  }

  const streamId = newId('aiStream');
  const record: AiStreamRecord = {
    streamId,
    kind,
    runnerId: row.runnerId,
    organizationId: p.organizationId,
    userId: p.userId,
    workspaceId: row.id,
    model: beat.ai.model,
    pathSha256: await pathSha256,
    paths: details.paths,
  };
  // A one-way call, not a BullMQ job: what a person waits for is the first token, and a
  // job's bookkeeping on both sides cost more than the rest of the start. The call is taken
  // once (a model call is never repeated behind the caller's back), and the question or the
  // chat leaves Redis as soon as the runner has popped it.
  await openStream(services, record, job(streamId));
  c.header('x-keel-stream-id', streamId);
  return relayAiStream(c, {
    streamKey: streamKeyOf(services, record),
    heartbeatKey: keys.heartbeat,
    cursor: '0-0',
    reader,
  });
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

export function aiRoutes() {
  const app = new Hono<AppEnv>();
  app.use('*', authenticate());

  app.get('/config', async (c) => c.json(await aiConfig(c, c.get('services'))));

  app.post('/explain', requireRole('developer'), async (c) => {
    const input = await readJson(c, ExplainRequest);
    const path = workspaceRelative(input.path);
    return startCall(c, 'explain', input.workspaceId, { path, paths: 1 }, (streamId) => ({
      v: CONTRACT_VERSION,
      type: 'ai.explain',
      streamId,
      workspaceId: input.workspaceId,
      path,
      ...(input.range ? { range: input.range } : {}),
      ...(input.question ? { question: input.question } : {}),
    }));
  });

  app.post('/rewrite', requireRole('developer'), async (c) => {
    const input = await readJson(c, RewriteRequest);
    const path = workspaceRelative(input.path);
    return startCall(c, 'rewrite', input.workspaceId, { path, paths: 1 }, (streamId) => ({
      v: CONTRACT_VERSION,
      type: 'ai.rewrite',
      streamId,
      workspaceId: input.workspaceId,
      path,
      ...(input.range ? { range: input.range } : {}),
      instruction: input.instruction,
    }));
  });

  app.post('/chat', requireRole('developer'), async (c) => {
    const input = await readJson(c, ChatRequest);
    const paths = input.paths?.map(workspaceRelative);
    return startCall(c, 'chat', input.workspaceId, { path: null, paths: paths?.length ?? 0 }, (streamId) => ({
      v: CONTRACT_VERSION,
      type: 'ai.chat',
      streamId,
      workspaceId: input.workspaceId,
      messages: input.messages,
      ...(paths?.length ? { paths } : {}),
    }));
  });

  app.get('/streams/:streamId/events', async (c) => {
    const services = c.get('services');
    const record = await ownStream(services, c.get('principal'), readParams(c, StreamParams).streamId);
    const streamKey = streamKeyOf(services, record);
    const cursor = cursorFrom(c);
    const state = await streamState(services.redis(), streamKey, cursor);
    if (state === 'missing') throw new ApiError('not_found', 'No such AI stream');
    // The client already has the `done`: 204 tells an EventSource to stop reconnecting.
    if (state === 'finished') return c.body(null, 204);
    c.header('x-keel-stream-id', record.streamId);
    return relayAiStream(c, {
      streamKey,
      heartbeatKey: runnerKeys(services.config.redisPrefix, record.runnerId).heartbeat,
      cursor,
    });
  });

  app.post('/streams/:streamId/cancel', requireRole('developer'), async (c) => {
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
