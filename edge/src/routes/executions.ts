import { idSchema } from '@keel/contract/ids';
import { runnerKeys, STREAM_TTL_SECONDS } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { ExecuteRequest, WorkspaceIdParam } from '@keel/contract/workspaces';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { readJson, readParams } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { authenticate } from '../middleware/authenticate.ts';
import { requireRole } from '../middleware/require-role.ts';
import { streamFields } from '../services/stream-fields.ts';
import { loadWorkspace, queueOf } from '../workspaces/access.ts';

const ExecutionParams = z.object({ id: z.string(), executionId: z.string() });
/** Stream entry ids as Redis makes them; anything else in Last-Event-ID is ignored. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
/** How long one read waits before a keep-alive and a check that the runner is still there. */
const BLOCK_MS = 5_000;

/** An SSE frame; every line break in the data (CR, LF or CRLF) starts another `data:` line. */
export function sseFrame(id: string, event: string, data: string): string {
  return `id: ${id}\nevent: ${event}\ndata: ${data.replace(/\r\n|\r|\n/g, '\ndata: ')}\n\n`;
}

export function executionRoutes() {
  const app = new Hono<AppEnv>();
  app.use('*', authenticate());

  app.post('/:id/execute', requireRole('developer'), async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const input = await readJson(c, ExecuteRequest);
    const executionId = newId('execution');
    const argv = typeof input.command === 'string' ? ['/bin/sh', '-c', input.command] : input.command;
    const keys = runnerKeys(services.config.redisPrefix, row.runnerId ?? '');
    // Who may read the output is decided here, once; the stream itself carries only output.
    await services
      .redis()
      .set(
        keys.execMeta(executionId),
        JSON.stringify({ workspaceId: row.id, organizationId: row.organizationId }),
        'EX',
        STREAM_TTL_SECONDS,
      );
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
      { jobId: executionId, attempts: 1 },
    );
    await appendAudit(services, {
      action: 'execution.start',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      workspaceId: row.id,
      targetId: executionId,
      metadata: { commandSha256: await sha256Hex(JSON.stringify(argv)) },
    });
    return c.json({ executionId }, 202);
  });

  app.get('/:id/executions/:executionId/events', async (c) => {
    const services = c.get('services');
    const params = readParams(c, ExecutionParams);
    const row = await loadWorkspace(c, params.id);
    if (!idSchema('execution').safeParse(params.executionId).success || !row.runnerId) {
      throw new ApiError('not_found', 'No such execution');
    }
    const keys = runnerKeys(services.config.redisPrefix, row.runnerId);
    const meta = await services.redis().get(keys.execMeta(params.executionId));
    if (!meta || (JSON.parse(meta) as { workspaceId: string }).workspaceId !== row.id) {
      throw new ApiError('not_found', 'No such execution');
    }
    const lastEventId = c.req.header('last-event-id') ?? c.req.query('lastEventId') ?? '';
    let cursor = STREAM_ID.test(lastEventId) ? lastEventId : '0-0';
    const streamKey = keys.execStream(params.executionId);

    return streamSSE(c, async (stream) => {
      // XREAD BLOCK holds its connection: each open stream reads on its own.
      const reader = services.redis().duplicate();
      let open = true;
      stream.onAbort(() => {
        open = false;
        reader.disconnect();
      });
      try {
        while (open) {
          const res = (await reader.xread(
            'COUNT',
            512,
            'BLOCK',
            BLOCK_MS,
            'STREAMS',
            streamKey,
            cursor,
          )) as Array<[string, Array<[string, string[]]>]> | null;
          if (!res) {
            await stream.write(': keep-alive\n\n');
            // A runner that stays gone never writes the exit: write it for it, durably, so
            // every reader (now or after a reconnect) sees the command end.
            if (!(await services.redis().exists(keys.heartbeat))) {
              await services
                .redis()
                .xadd(
                  streamKey,
                  '*',
                  't',
                  'exit',
                  'd',
                  JSON.stringify({ exitCode: null, error: 'the runner went offline' }),
                );
            }
            continue;
          }
          // One write per batch: an SSE frame per entry, built with one pass over the text.
          let frames = '';
          for (const [, entries] of res) {
            for (const [entryId, fields] of entries) {
              const f = streamFields(fields);
              cursor = entryId;
              frames += sseFrame(entryId, f.t ?? 'stdout', f.d ?? '');
              if (f.t === 'exit') {
                open = false;
                break;
              }
            }
          }
          await stream.write(frames);
        }
      } catch (err) {
        if (open) throw err;
      } finally {
        reader.disconnect();
      }
    });
  });

  app.post('/:id/executions/:executionId/cancel', requireRole('developer'), async (c) => {
    const services = c.get('services');
    const params = readParams(c, ExecutionParams);
    const row = await loadWorkspace(c, params.id);
    if (!idSchema('execution').safeParse(params.executionId).success || !row.runnerId) {
      throw new ApiError('not_found', 'No such execution');
    }
    const keys = runnerKeys(services.config.redisPrefix, row.runnerId);
    if (!(await services.redis().exists(keys.execMeta(params.executionId)))) {
      throw new ApiError('not_found', 'No such execution');
    }
    await services.queue.enqueue(queueOf(row), {
      v: CONTRACT_VERSION,
      type: 'exec.cancel',
      executionId: params.executionId,
    });
    const p = c.get('principal');
    await appendAudit(services, {
      action: 'execution.cancel',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      workspaceId: row.id,
      targetId: params.executionId,
    });
    return c.json({ executionId: params.executionId, cancelling: true }, 202);
  });

  return app;
}
