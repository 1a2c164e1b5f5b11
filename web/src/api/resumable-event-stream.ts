import { compareStreamIds } from '@keel/contract/stream-ids';
import { createParser } from 'eventsource-parser';
import { ApiError } from './api-error.ts';
import type { Timers } from './browser-timers.ts';
import { browserTimers } from './browser-timers.ts';

/** One server-sent event, as the WHATWG event-stream format defines it. */
export interface ServerSentEvent {
  /** The `id` field of this event, when it had one. */
  id: string | undefined;
  /** The `event` field; `message` when absent. */
  type: string;
  /** The `data` lines joined with newlines. */
  data: string;
}

export type FollowState = 'connecting' | 'streaming' | 'reconnecting';

export interface ResumableStreamOptions {
  /** Opens the event stream, resuming after `lastEventId` (undefined: from the start). */
  open(lastEventId: string | undefined, signal: AbortSignal): Promise<Response>;
  /** The event after which the server sends nothing more (an exit, a done). */
  isLast(event: ServerSentEvent): boolean;
  /** Whether a failure to open or read may pass on a retry; by default {@link isTransientStreamError}. */
  isRetryable?(error: unknown): boolean;
  timers?: Timers | undefined;
  /** Waits between reconnects; the last one repeats. */
  retryDelaysMs?: readonly number[] | undefined;
  /** Reconnects in a row without receiving anything before giving up. */
  maxAttempts?: number | undefined;
}

export interface ResumableStreamHandlers {
  /** Each new event, in order, once; the last one included. Nothing is delivered after the last. */
  onEvent(event: ServerSentEvent): void;
  onStateChange?(state: FollowState): void;
  /** The stream could not be read and retrying would not help (unknown stream, no access, gave up). */
  onFailure(error: unknown): void;
}

export interface StreamFollower {
  /** Stops reading (whatever produces the events keeps going on the server). */
  stop(): void;
  /** The id of the last event delivered: a reconnect resumes after it. */
  lastEventId(): string | undefined;
  /** Settles when following ended: the last event, a failure or stop. */
  done: Promise<void>;
}

const DEFAULT_DELAYS = [250, 500, 1000, 2000, 4000] as const;

/**
 * Reads an event stream to its last event, surviving network drops: every event's id is remembered, a
 * broken stream is reopened with `Last-Event-ID` set to the last one, and anything at or before it is
 * dropped, so events are neither lost nor delivered twice even if a server replays more than it should.
 * It reads with fetch rather than EventSource so that the header is set on every reconnect, requests go
 * through the same token refresh as the rest, and tests can drive it without a browser.
 */
export function followResumableStream(
  options: ResumableStreamOptions,
  handlers: ResumableStreamHandlers,
): StreamFollower {
  const timers = options.timers ?? browserTimers;
  const delays = options.retryDelaysMs ?? DEFAULT_DELAYS;
  const maxAttempts = options.maxAttempts ?? 40;
  const isRetryable = options.isRetryable ?? isTransientStreamError;
  let lastId: string | undefined;
  let stopped = false;
  let finished = false;
  let controller: AbortController | undefined;
  let wake: (() => void) | undefined;
  let sleepTimer: unknown;

  function deliver(event: ServerSentEvent): boolean {
    if (event.id !== undefined) {
      if (lastId !== undefined && compareStreamIds(event.id, lastId) <= 0) return false;
      lastId = event.id;
    }
    if (options.isLast(event)) finished = true;
    handlers.onEvent(event);
    return true;
  }

  /** The wait a server asked for before it closed the stream (`retry:`; a stopping edge says 0). */
  let retryHintMs: number | undefined;

  /** Reads one connection to its end; true when it delivered anything new. */
  async function readStream(response: Response): Promise<boolean> {
    let deliveredAny = false;
    const parser = createParser({
      onRetry(ms) {
        retryHintMs = ms;
      },
      onEvent(message) {
        if (finished || stopped) return;
        const event = { id: message.id, type: message.event ?? 'message', data: message.data };
        if (deliver(event)) deliveredAny = true;
      },
    });
    const body = response.body;
    if (body === null) return false;
    const reader = body.getReader();
    const decoder = new TextDecoder();
    try {
      while (!finished && !stopped) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } finally {
      // Ends the request too: after the last event there is nothing more worth holding a connection for.
      controller?.abort();
      reader.releaseLock();
    }
    return deliveredAny;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      wake = resolve;
      sleepTimer = timers.set(resolve, ms);
    });
  }

  async function run(): Promise<void> {
    let failures = 0;
    handlers.onStateChange?.('connecting');
    while (!stopped && !finished) {
      controller = new AbortController();
      retryHintMs = undefined;
      try {
        const response = await options.open(lastId, controller.signal);
        if (stopped) break;
        if (response.status === 204) {
          // "Nothing more for you": the AI routes answer a resume so once the stream's end was sent (as an
          // EventSource server does to stop reconnects). Asking again would only get the same answer.
          handlers.onFailure(new StreamEnded());
          return;
        }
        handlers.onStateChange?.('streaming');
        if (await readStream(response)) failures = 0;
      } catch (error) {
        if (stopped || finished) break;
        if (!isRetryable(error)) {
          handlers.onFailure(error);
          return;
        }
      }
      if (stopped || finished) break;
      // The server closed the stream on purpose and said when to come back (an edge stopping behind a
      // load balancer): reconnect then, to another edge, without counting it as a failure.
      if (retryHintMs !== undefined) {
        handlers.onStateChange?.('reconnecting');
        await sleep(retryHintMs);
        continue;
      }
      // The connection ended before the last event: a dropped network, a restarted edge, a proxy timeout.
      failures += 1;
      if (failures > maxAttempts) {
        handlers.onFailure(new Error('The stream kept failing; gave up reconnecting'));
        return;
      }
      handlers.onStateChange?.('reconnecting');
      await sleep(delays[Math.min(failures - 1, delays.length - 1)] ?? 1000);
    }
  }

  const done = run().catch((error: unknown) => {
    if (!stopped) handlers.onFailure(error);
  });

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      controller?.abort();
      timers.clear(sleepTimer);
      wake?.();
    },
    lastEventId: () => lastId,
    done,
  };
}

/**
 * The server said the stream has nothing more to send (204), though its last event never arrived here: how
 * it ended is unknown on this side.
 */
export class StreamEnded extends Error {
  override readonly name = 'StreamEnded';
  constructor() {
    super('The server has already sent the end of this stream');
  }
}

/** Network failures and server-side trouble may pass; a 4xx answer (gone, forbidden) will not. */
export function isTransientStreamError(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status >= 500 || error.status === 429 || error.status === 408;
}
