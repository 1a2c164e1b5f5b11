import { workspaceRoutes as routes } from '@keel/contract/api/workspaces';
import { callRoute, routeUrl } from './call-route.ts';
import type { ApiClient } from './client.ts';

export interface ExecuteInput {
  /** An argv array runs as is; a string runs through `/bin/sh -c` in the workspace. */
  command: string | string[];
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface ExecutionsApi {
  /** Starts a command; its output is read with `openEvents`. */
  execute(workspaceId: string, input: ExecuteInput): Promise<string>;
  cancel(workspaceId: string, executionId: string): Promise<void>;
  /** Opens the event stream, resuming after `lastEventId` when given. */
  openEvents(
    workspaceId: string,
    executionId: string,
    lastEventId: string | undefined,
    signal: AbortSignal,
  ): Promise<Response>;
}

export function createExecutionsApi(client: ApiClient): ExecutionsApi {
  return {
    execute: async (workspaceId, input) =>
      (await callRoute(client, routes.execute, { params: { id: workspaceId }, body: input })).executionId,

    async cancel(workspaceId, executionId) {
      await callRoute(client, routes.cancelExecution, { params: { id: workspaceId, executionId } });
    },

    openEvents: (workspaceId, executionId, lastEventId, signal) =>
      client.openStream(routeUrl(routes.executionEvents, { id: workspaceId, executionId }), {
        headers: {
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal,
      }),
  };
}
