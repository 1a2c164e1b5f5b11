import { AiDone, AiStreamMeta, RewriteResult } from '@keel/contract/ai';
import { type AiApi, type AiRequest, STREAM_ID_HEADER } from '../../api/ai-api.ts';
import { ApiError } from '../../api/api-error.ts';
import type { Timers } from '../../api/browser-timers.ts';
import {
  type FollowState,
  followResumableStream,
  isTransientStreamError,
} from '../../api/resumable-event-stream.ts';

export interface AiCallHandlers {
  onMeta?(meta: AiStreamMeta): void;
  /** The next piece of the answer, in order, each piece once. */
  onToken(text: string): void;
  onResult?(result: RewriteResult): void;
  /** Always last when the call was followed to its end: success, failure or cancelled. */
  onDone(done: AiDone): void;
  onStateChange?(state: FollowState): void;
  /** The call could not be started, or its stream could not be read again. Nothing follows. */
  onFailure(error: unknown): void;
}

export interface AiCallOptions {
  timers?: Timers | undefined;
  retryDelaysMs?: readonly number[] | undefined;
}

export interface AiCall {
  /** Asks the server to stop the model call; the stream then ends with a cancelled `done`. */
  cancel(): Promise<void>;
  /** Stops reading without stopping the model call (the panel was closed). */
  stop(): void;
  streamId(): string | undefined;
  /** Settles when following ended. */
  done: Promise<void>;
}

/**
 * One model call, followed to its `done` event. The first connection is the POST that starts the call;
 * a dropped connection is resumed with a GET of the same stream and Last-Event-ID, never by POSTing again
 * (that would start, and pay for, a second call). A POST that failed is reported as is, not retried.
 */
export function startAiCall(
  api: AiApi,
  request: AiRequest,
  handlers: AiCallHandlers,
  options: AiCallOptions = {},
): AiCall {
  let streamId: string | undefined;
  let posted = false;
  let cancelWanted = false;
  let cancelling: Promise<void> | undefined;

  function learnStreamId(id: string | null | undefined): void {
    if (!id || streamId !== undefined) return;
    streamId = id;
    // Stop was pressed before the server had said which call this is: send it now.
    if (cancelWanted) void sendCancel().catch(() => {});
  }

  function sendCancel(): Promise<void> {
    if (streamId === undefined) return Promise.resolve();
    cancelling ??= api.cancel(streamId).catch((error: unknown) => {
      // A call that already ended has nothing left to cancel.
      if (error instanceof ApiError && (error.status === 404 || error.status === 409)) return;
      cancelling = undefined;
      throw error;
    });
    return cancelling;
  }

  const follower = followResumableStream(
    {
      async open(lastEventId, signal) {
        if (!posted) {
          posted = true;
          const response = await api.start(request, signal);
          learnStreamId(response.headers.get(STREAM_ID_HEADER));
          return response;
        }
        if (streamId === undefined) throw new StreamLost();
        return api.openEvents(streamId, lastEventId, signal);
      },
      isLast: (event) => event.type === 'done',
      isRetryable: (error) => streamId !== undefined && isTransientStreamError(error),
      timers: options.timers,
      retryDelaysMs: options.retryDelaysMs,
    },
    {
      onEvent(event) {
        switch (event.type) {
          case 'meta': {
            const meta = parseJson(event.data, AiStreamMeta);
            if (meta === undefined) return;
            learnStreamId(meta.streamId);
            handlers.onMeta?.(meta);
            return;
          }
          case 'token':
            handlers.onToken(event.data);
            return;
          case 'result': {
            const result = parseJson(event.data, RewriteResult);
            if (result !== undefined) handlers.onResult?.(result);
            return;
          }
          case 'done':
            handlers.onDone(parseJson(event.data, AiDone) ?? UNREADABLE_DONE);
            return;
        }
      },
      onStateChange: handlers.onStateChange,
      onFailure: handlers.onFailure,
    },
  );

  return {
    cancel() {
      cancelWanted = true;
      return sendCancel();
    },
    stop: follower.stop,
    streamId: () => streamId,
    done: follower.done,
  };
}

/** The POST's connection broke before the server said which call it started: there is nothing to resume. */
export class StreamLost extends Error {
  override readonly name = 'StreamLost';
  constructor() {
    super('The connection broke before the answer started. Try again.');
  }
}

interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false };
}

function parseJson<T>(data: string, schema: Schema<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const UNREADABLE_DONE: AiDone = {
  outcome: 'failure',
  error: { code: 'internal', message: 'The server sent an unreadable end of the answer' },
};
