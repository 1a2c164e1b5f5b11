import { searchRoutes as routes } from '@keel/contract/api/search';
import type { QuickOpenResponse, SearchRequest } from '@keel/contract/search';
import { callRoute, routeUrl } from '../../api/call-route.ts';
import type { ApiClient } from '../../api/client.ts';

/** Quick open and search across files (contract/api/search.ts). */
export interface SearchApi {
  /** File names matching `query`, best first. */
  quickOpen(workspaceId: string, query: string, limit?: number): Promise<QuickOpenResponse>;
  /** Starts a search; its results are read with `openEvents`. */
  start(workspaceId: string, request: Partial<SearchRequest> & { query: string }): Promise<string>;
  /** Opens a search's event stream, resuming after `lastEventId` when given. */
  openEvents(
    workspaceId: string,
    searchId: string,
    lastEventId: string | undefined,
    signal: AbortSignal,
  ): Promise<Response>;
}

export function createSearchApi(client: ApiClient): SearchApi {
  return {
    quickOpen: (workspaceId, q, limit = 50) =>
      callRoute(client, routes.quickOpen, { params: { id: workspaceId }, query: { q, limit } }),
    start: async (workspaceId, request) =>
      (
        await callRoute(client, routes.startSearch, {
          params: { id: workspaceId },
          body: request as SearchRequest,
        })
      ).searchId,
    openEvents: (workspaceId, searchId, lastEventId, signal) =>
      client.openStream(routeUrl(routes.searchEvents, { id: workspaceId, searchId }), {
        headers: {
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal,
      }),
  };
}
