import type { ApiClient } from './client.ts';
import { objectOf } from './response-shapes.ts';
import { workspacePath } from './workspaces-api.ts';

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

const Accepted = objectOf({ executionId: 'string' });

export function createExecutionsApi(client: ApiClient): ExecutionsApi {
  return {
    execute: async (workspaceId, input) =>
      (
        await client.request('POST', workspacePath(workspaceId, '/execute'), {
          body: input,
          schema: Accepted,
        })
      ).executionId,

    async cancel(workspaceId, executionId) {
      await client.request(
        'POST',
        workspacePath(workspaceId, `/executions/${encodeURIComponent(executionId)}/cancel`),
        { body: {} },
      );
    },

    openEvents: (workspaceId, executionId, lastEventId, signal) =>
      client.openStream(workspacePath(workspaceId, `/executions/${encodeURIComponent(executionId)}/events`), {
        headers: {
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal,
      }),
  };
}
