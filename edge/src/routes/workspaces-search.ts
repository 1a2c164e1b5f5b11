import { SearchParams, searchRoutes } from '@keel/contract/api/search';
import { idSchema } from '@keel/contract/ids';
import { runnerKeys } from '@keel/contract/keys';
import {
  FilesFindResult,
  QuickOpenQuery,
  SEARCH_STREAM_TTL_SECONDS,
  type SearchDone,
  SearchRequest,
  SearchStartResult,
  searchMetaKey,
  searchStreamKey,
} from '@keel/contract/search';
import { searchResultsStream } from '@keel/contract/streams';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { WorkspaceIdParam } from '@keel/contract/workspaces';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { sseResponse } from '../http/sse-response.ts';
import { readJsonWithin, readParams, readQuery } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { lastEventIdOf } from '../streams/cursor.ts';
import { StreamFollower } from '../streams/follower.ts';
import { sseDelivery } from '../streams/sse-relay.ts';
import { assertRunnerServes, loadWorkspace } from '../workspaces/access.ts';
import { callRunner } from '../workspaces/runner-call.ts';

/** A search request is a pattern and a few globs: a few KB at most. */
const SEARCH_BODY_BYTES = 64 * 1024;
/** How long one read waits before a keep-alive and a check that the runner is still there. */
const BLOCK_MS = 5_000;
/** Entries per read (a `file` entry holds one file's matching lines). */
const READ_COUNT = 64;

/**
 * Quick open and search across files. Both run on the workspace's runner, inside the workspace:
 * quick open is one call (the runner keeps the file names), a search is started by a call and its
 * results are followed as SSE from the stream the runner writes, like a command's output.
 * Reading only: whoever may read the workspace may use both.
 */
export function workspaceSearchRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');

  on(searchRoutes.quickOpen, async (c) => {
    const services = c.get('services');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const { q, limit } = readQuery(c, QuickOpenQuery);
    const found = await callRunner(
      services,
      row,
      { v: CONTRACT_VERSION, type: 'files.find', workspaceId: row.id, query: q, limit },
      FilesFindResult,
      jobTraceOf(c),
    );
    return reply(c, searchRoutes.quickOpen, 200, found);
  });

  on(searchRoutes.startSearch, async (c) => {
    const services = c.get('services');
    const row = await loadWorkspace(c, readParams(c, WorkspaceIdParam).id);
    const input = await readJsonWithin(c, SearchRequest, SEARCH_BODY_BYTES);
    const searchId = newId('search');
    const keys = runnerKeys(services.config.redisPrefix, row.runnerId ?? '');
    // Who may read the results is decided here, once (sealed, as an execution's meta).
    const metaKey = searchMetaKey(keys, searchId);
    await assertRunnerServes(services, row, {
      key: metaKey,
      value: await services.cacheSeal.seal(
        metaKey,
        JSON.stringify({ workspaceId: row.id, organizationId: row.organizationId }),
      ),
      ttlSeconds: SEARCH_STREAM_TTL_SECONDS,
    });
    await callRunner(
      services,
      row,
      { v: CONTRACT_VERSION, type: 'search.start', workspaceId: row.id, searchId, ...input },
      SearchStartResult,
      jobTraceOf(c),
    );
    return reply(c, searchRoutes.startSearch, 202, { searchId });
  });

  on(searchRoutes.searchEvents, async (c) => {
    const services = c.get('services');
    const params = readParams(c, SearchParams);
    const row = await loadWorkspace(c, params.id);
    if (!idSchema('search').safeParse(params.searchId).success || !row.runnerId) {
      throw new ApiError('not_found', 'No such search');
    }
    const keys = runnerKeys(services.config.redisPrefix, row.runnerId);
    const metaKey = searchMetaKey(keys, params.searchId);
    const raw = await services.cacheSeal.open(metaKey, await services.redis().get(metaKey));
    let meta: { workspaceId?: unknown; organizationId?: unknown } | undefined;
    try {
      meta = raw ? JSON.parse(raw) : undefined;
    } catch {
      // Unreadable: as good as absent.
    }
    // A search id names a stream on the runner; only its record ties it to this workspace.
    if (!meta || meta.workspaceId !== row.id || meta.organizationId !== row.organizationId) {
      throw new ApiError('not_found', 'No such search');
    }
    const streamKey = searchStreamKey(keys, params.searchId);
    return sseResponse(c, async (stream) => {
      const follower = new StreamFollower({
        readers: services.readers,
        kind: searchResultsStream,
        key: streamKey,
        cursor: lastEventIdOf(c),
        count: READ_COUNT,
        blockMs: BLOCK_MS,
        readAhead: true,
        ...sseDelivery(stream, 'file'),
        offline: {
          redis: services.redis(),
          heartbeatKey: keys.heartbeat,
          close: async () => {
            const done: SearchDone = {
              matches: 0,
              files: 0,
              truncated: null,
              error: 'the runner went offline',
            };
            await services.redis().xadd(streamKey, '*', 't', 'done', 'd', JSON.stringify(done));
            return true;
          },
        },
      });
      stream.onAbort(() => follower.stop());
      await follower.run();
    });
  });

  return app;
}
