import type {
  AiConfigResponse,
  AiKind,
  ChatRequest,
  ExplainRequest,
  RewriteRequest,
} from '@keel/contract/ai';
import type { ApiClient, ResponseSchema } from './client.ts';

/** What each AI route takes; the kind picks the route. */
export type AiRequest =
  | { kind: 'explain'; body: ExplainRequest }
  | { kind: 'rewrite'; body: RewriteRequest }
  | { kind: 'chat'; body: ChatRequest };

export interface AiApi {
  /** Whether a model is configured (for the workspace's runner, when given), and how to set one up if not. */
  config(workspaceId?: string): Promise<AiConfigResponse>;
  /**
   * Starts a model call; the answer is its event stream, already open. The stream id is in the
   * `x-keel-stream-id` header (and in the first event).
   */
  start(request: AiRequest, signal: AbortSignal): Promise<Response>;
  /** Reopens a call's stream after a drop, resuming after `lastEventId`. */
  openEvents(streamId: string, lastEventId: string | undefined, signal: AbortSignal): Promise<Response>;
  /** Stops the model call; its stream then ends with a `done` event saying it was cancelled. */
  cancel(streamId: string): Promise<void>;
}

export const STREAM_ID_HEADER = 'x-keel-stream-id';

const ROUTES: Record<AiKind, string> = {
  explain: '/api/ai/explain',
  rewrite: '/api/ai/rewrite',
  chat: '/api/ai/chat',
};

/**
 * Checked by hand: this module is built into the sign-in bundle (main.tsx), and the contract's zod schemas
 * for the AI routes would add their weight there for one small object.
 */
const ConfigShape: ResponseSchema<AiConfigResponse> = {
  safeParse(data) {
    const value = data as Partial<Record<keyof AiConfigResponse, unknown>> | null;
    const stringOrNull = (x: unknown) => x === null || typeof x === 'string';
    if (typeof value !== 'object' || value === null || typeof value.configured !== 'boolean')
      return { success: false, error: new TypeError('expected { configured: boolean }') };
    if (!stringOrNull(value.model) || !stringOrNull(value.hint))
      return { success: false, error: new TypeError('model and hint should be strings or null') };
    return {
      success: true,
      data: {
        configured: value.configured,
        model: value.model as string | null,
        hint: value.hint as string | null,
      },
    };
  },
};

function streamPath(streamId: string, rest: string): string {
  return `/api/ai/streams/${encodeURIComponent(streamId)}/${rest}`;
}

export function createAiApi(client: ApiClient): AiApi {
  return {
    config: (workspaceId) =>
      client.request(
        'GET',
        workspaceId === undefined
          ? '/api/ai/config'
          : `/api/ai/config?workspaceId=${encodeURIComponent(workspaceId)}`,
        { schema: ConfigShape },
      ),

    start: (request, signal) =>
      client.openStream(ROUTES[request.kind], {
        method: 'POST',
        body: request.body,
        headers: { accept: 'text/event-stream' },
        signal,
      }),

    openEvents: (streamId, lastEventId, signal) =>
      client.openStream(streamPath(streamId, 'events'), {
        headers: {
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        signal,
      }),

    async cancel(streamId) {
      await client.request('POST', streamPath(streamId, 'cancel'), { body: {} });
    },
  };
}
