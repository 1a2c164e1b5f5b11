import { workspaceRoutes } from '@keel/contract/api/workspaces';
import { idSchema } from '@keel/contract/ids';
import { runnerKeys, STREAM_TTL_SECONDS } from '@keel/contract/keys';
import { execOutputStream } from '@keel/contract/streams';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { ExecuteRequest, type ExitEvent, WorkspaceIdParam } from '@keel/contract/workspaces';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { sseResponse } from '../http/sse-response.ts';
import { readJson, readParams } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { claimCommandSlot } from '../plans/plan-limits.ts';
import type { Services } from '../services.ts';
import { lastEventIdOf } from '../streams/cursor.ts';
import { StreamFollower } from '../streams/follower.ts';
import { sseDelivery } from '../streams/sse-relay.ts';
import { countCommand } from '../usage/command-count.ts';
import { assertRunnerServes, loadWorkspace, queueOf, type WorkspaceRow } from '../workspaces/access.ts';

const ExecutionParams = z.object({ id: z.string(), executionId: z.string() });
/** How long one read waits before a keep-alive and a check that the runner is still there. */
const BLOCK_MS = 5_000;

/**
 * Entries per read: output entries hold up to 256 KB, so one read (and the frames made
 * of it) stays within a few MB per open stream, however far behind the reader is.
 */
const READ_COUNT = 16;

export function executionRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');

  on(workspaceRoutes.execute, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const input = await readJson(c, ExecuteRequest);
    const executionId = newId('execution');
    const argv = typeof input.command === 'string' ? ['/bin/sh', '-c', input.command] : input.command;
    const keys = runnerKeys(services.config.redisPrefix, row.runnerId ?? '');
    // Who may read the output is decided here, once; the stream itself carries only output.
    // Written only when the runner can take the command: an offline runner is a 503 now,
    // not a 202 whose stream later says the runner went away. Sealed (see cache-seal.ts): meta
    // written straight into Redis names no one's execution.
    const metaKey = keys.execMeta(executionId);
    await assertRunnerServes(services, row, {
      key: metaKey,
      value: await services.cacheSeal.seal(
        metaKey,
        JSON.stringify({ workspaceId: row.id, organizationId: row.organizationId }),
      ),
      ttlSeconds: STREAM_TTL_SECONDS,
    });
    await claimCommandSlot(c, row, executionId, input.timeoutMs);
    await services.queue.enqueue(
      queueOf(row),
      {
        v: CONTRACT_VERSION,
        type: 'exec.start',
        workspaceId: row.id,
        executionId,
        argv,
        ...(input.cwd ? { cwd: input.cwd } : {}),
        ...(input.env ? { env: input.env } : {}),
        timeoutMs: input.timeoutMs,
      },
      // A started command must never run twice because a runner died mid-job.
      { jobId: executionId, attempts: 1, trace: jobTraceOf(c) },
    );
    await countCommand(services, row);
    await appendAudit(services, {
      action: 'execution.start',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      workspaceId: row.id,
      targetId: executionId,
      metadata: { commandSha256: sha256Hex(JSON.stringify(argv)) },
    });
    return reply(c, workspaceRoutes.execute, 202, { executionId });
  });

  on(workspaceRoutes.executionEvents, async (c) => {
    const services = c.get('services');
    const { params, keys } = await loadExecution(c, services);
    const streamKey = execOutputStream.key(keys, params.executionId);

    return sseResponse(c, async (stream) => {
      const follower = new StreamFollower({
        readers: services.readers,
        kind: execOutputStream,
        key: streamKey,
        cursor: lastEventIdOf(c),
        count: READ_COUNT,
        blockMs: BLOCK_MS,
        readAhead: true,
        ...sseDelivery(stream, 'stdout'),
        offline: {
          redis: services.redis(),
          heartbeatKey: keys.heartbeat,
          close: async () => {
            const exit: ExitEvent = { exitCode: null, error: 'the runner went offline' };
            await services.redis().xadd(streamKey, '*', 't', 'exit', 'd', JSON.stringify(exit));
            return true;
          },
        },
      });
      stream.onAbort(() => follower.stop());
      await follower.run();
    });
  });

  on(workspaceRoutes.cancelExecution, async (c) => {
    const services = c.get('services');
    const { params, row } = await loadExecution(c, services);
    await assertRunnerServes(services, row);
    await services.queue.enqueue(
      queueOf(row),
      {
        v: CONTRACT_VERSION,
        type: 'exec.cancel',
        executionId: params.executionId,
        workspaceId: row.id,
      },
      { trace: jobTraceOf(c) },
    );
    const p = c.get('principal');
    await appendAudit(services, {
      action: 'execution.cancel',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      workspaceId: row.id,
      targetId: params.executionId,
    });
    return reply(c, workspaceRoutes.cancelExecution, 202, {
      executionId: params.executionId,
      cancelling: true,
    });
  });

  return app;
}

/** The execution named by the path, with its workspace: one of this caller's, and one it ran. */
async function loadExecution(c: Context<AppEnv>, services: Services) {
  const params = readParams(c, ExecutionParams);
  const row = await loadWorkspace(c, params.id);
  if (!idSchema('execution').safeParse(params.executionId).success || !row.runnerId) {
    throw new ApiError('not_found', 'No such execution');
  }
  const keys = runnerKeys(services.config.redisPrefix, row.runnerId);
  await ownExecution(services, keys, row, params.executionId);
  return { params, row, keys };
}

/**
 * The execution, if it was started in this workspace: a runner serves many workspaces (of
 * many organizations, when shared), and an execution id names a command on the runner, so
 * its record is what ties it to the workspace in the path. Anything else is not found.
 */
async function ownExecution(
  services: Services,
  keys: ReturnType<typeof runnerKeys>,
  row: WorkspaceRow,
  executionId: string,
): Promise<void> {
  const key = keys.execMeta(executionId);
  const raw = await services.cacheSeal.open(key, await services.redis().get(key));
  let meta: { workspaceId?: unknown; organizationId?: unknown } | undefined;
  try {
    meta = raw ? JSON.parse(raw) : undefined;
  } catch {
    // Unreadable: as good as absent.
  }
  if (!meta || meta.workspaceId !== row.id || meta.organizationId !== row.organizationId) {
    throw new ApiError('not_found', 'No such execution');
  }
}
