import { runnerKeys } from '@keel/contract/keys';
import {
  LSP_ATTACH_TTL_SECONDS,
  LSP_MAX_CONNECTIONS_PER_WORKSPACE,
  type LspLanguage,
  lspWorkspaceConnectionsKey,
} from '@keel/contract/lsp';
import type { JobTrace } from '@keel/contract/trace';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { ApiError } from '../http/api-error.ts';
import { newId } from '../ids.ts';
import type { Services } from '../services.ts';
import { queueOf, type WorkspaceRow } from '../workspaces/access.ts';

/**
 * A new connection to the workspace's language server for `language`: counted against the
 * workspace's cap, and attached on the runner by one job (which starts the server if none runs).
 * Messages sent before the runner has attached wait in the input stream, so the socket opens at once.
 */
export async function openLspConnection(
  services: Services,
  row: WorkspaceRow,
  language: LspLanguage,
  trace?: JobTrace,
): Promise<{ connectionId: string; runnerId: string }> {
  const runnerId = row.runnerId!;
  const keys = runnerKeys(services.config.redisPrefix, runnerId);
  const redis = services.redis();
  const connectionId = newId('lspConnection');
  const setKey = lspWorkspaceConnectionsKey(keys, row.id);
  // A socket renews its score while it lives: one not renewed for a while is gone.
  const stale = Date.now() - 3 * LSP_ATTACH_TTL_SECONDS * 1000;
  const [, , counted] = (await redis
    .multi()
    .zremrangebyscore(setKey, '-inf', stale)
    .zadd(setKey, Date.now(), connectionId)
    .zcard(setKey)
    .expire(setKey, 24 * 3600)
    .exec()) as Array<[Error | null, number]>;
  if ((counted?.[1] ?? 0) > LSP_MAX_CONNECTIONS_PER_WORKSPACE) {
    await redis.zrem(setKey, connectionId);
    throw new ApiError(
      'rate_limited',
      `This workspace already has ${LSP_MAX_CONNECTIONS_PER_WORKSPACE} language server connections; close a tab first`,
    );
  }
  await services.queue.enqueue(
    queueOf(row),
    { v: CONTRACT_VERSION, type: 'lsp.open', workspaceId: row.id, connectionId, language },
    { jobId: connectionId, attempts: 1, ...(trace ? { trace } : {}) },
  );
  return { connectionId, runnerId };
}
