import {
  type AiConfigResponse,
  ChatRequest,
  ExplainRequest,
  type LineRange,
  RewriteRequest,
} from '@keel/contract/ai';
import { aiRoutes as routes } from '@keel/contract/api/ai';
import type { ApiRoute } from '@keel/contract/api/describe';
import type { RunnerJob } from '@keel/contract/jobs';
import { AI_STREAM_TTL_SECONDS, runnerKeys } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { runners } from '@keel/drizzle/schema';
import { and, eq, isNull, or } from 'drizzle-orm';
import { type Context, type Handler, Hono } from 'hono';
import { z } from 'zod';
import { workspaceRelative } from '../ai/paths.ts';
import { cursorFrom, relayAiStream, streamState } from '../ai/relay.ts';
import { type CallRequestOf, NOT_CONFIGURED_HINT, startRoute } from '../ai/start-answer.ts';
import { AI_START_WAIT_MS, ownStream, streamKeyOf } from '../ai/stream-record.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readParams, readQuery } from '../http/validate.ts';
import { countsBehind } from '../middleware/rate-limits.ts';
import { heartbeatsOf } from '../runners/registry.ts';
import type { Services } from '../services.ts';
import { loadWorkspace } from '../workspaces/access.ts';

const StreamParams = z.object({ streamId: z.string().max(64) });
const ConfigQuery = z.object({ workspaceId: z.string().max(128).optional() });

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
  // The three starts authenticate in their handler (see startRoute: the one-round-trip start
  // checks the session and the route's access itself, in its own order).
  // Their request limits are counted beside them, not before (rate-limits.ts, countsBehind).
  const startOn = (route: ApiRoute, handler: Handler<AppEnv>) =>
    on.authenticatingItself(route, countsBehind(handler));
  startOn(routes.explain, (c) =>
    startRoute(c, 'explain', ExplainRequest, (input) =>
      aboutFile(input, (base) => ({
        ...base,
        type: 'ai.explain',
        ...(input.question ? { question: input.question } : {}),
      })),
    ),
  );

  startOn(routes.rewrite, (c) =>
    startRoute(c, 'rewrite', RewriteRequest, (input) =>
      aboutFile(input, (base) => ({ ...base, type: 'ai.rewrite', instruction: input.instruction })),
    ),
  );

  startOn(routes.chat, (c) =>
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

  on(routes.aiConfig, async (c) => reply(c, routes.aiConfig, 200, await aiConfig(c, c.get('services'))));

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

  on(routes.cancelAiStream, async (c) => {
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
        jobTraceOf(c),
      )
      .exec();
    return reply(c, routes.cancelAiStream, 202, { streamId: record.streamId, cancelling: true });
  });

  return app;
}
