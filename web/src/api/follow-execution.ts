import { ExitEvent } from '@keel/contract/workspaces';
import { ApiError } from './api-error.ts';
import { browserTimers } from './browser-timers.ts';
import type { Timers } from './client.ts';
import { createSseParser, type ServerSentEvent } from './sse-parser.ts';
import { compareStreamIds } from './stream-ids.ts';

export type OutputStream = 'stdout' | 'stderr';
export type FollowState = 'connecting' | 'streaming' | 'reconnecting';

export interface FollowHandlers {
  onOutput(stream: OutputStream, text: string): void;
  /** Called once, when the command ended (however it ended). Nothing is reported after it. */
  onExit(exit: ExitEvent): void;
  onStateChange?(state: FollowState): void;
  /** The output could not be read and retrying would not help (unknown execution, no access, gave up). */
  onFailure(error: unknown): void;
}

export interface FollowOptions {
  /** Opens the event stream, resuming after `lastEventId`; usually `ExecutionsApi.openEvents` bound to ids. */
  open(lastEventId: string | undefined, signal: AbortSignal): Promise<Response>;
  timers?: Timers;
  /** Waits between reconnects; the last one repeats. */
  retryDelaysMs?: readonly number[];
  /** Reconnects in a row without receiving anything before giving up. */
  maxAttempts?: number;
}

export interface ExecutionFollower {
  /** Stops reading (the command keeps running on the server). */
  stop(): void;
  /** The id of the last event delivered: a reconnect resumes after it. */
  lastEventId(): string | undefined;
  /** Settles when following ended: exit, failure or stop. */
  done: Promise<void>;
}

const DEFAULT_DELAYS = [250, 500, 1000, 2000, 4000] as const;

/**
 * Reads an execution's output to its exit event, surviving network drops: every event's id is remembered,
 * a broken stream is reopened with `Last-Event-ID` set to the last one, and anything at or before it is
 * dropped, so output is neither lost nor shown twice even if a server replays more than it should.
 */
export function followExecution(options: FollowOptions, handlers: FollowHandlers): ExecutionFollower {
  const timers = options.timers ?? browserTimers;
  const delays = options.retryDelaysMs ?? DEFAULT_DELAYS;
  const maxAttempts = options.maxAttempts ?? 40;
  let lastId: string | undefined;
  let stopped = false;
  let exited = false;
  let controller: AbortController | undefined;
  let wake: (() => void) | undefined;
  let sleepTimer: unknown;

  function deliver(event: ServerSentEvent): boolean {
    if (event.id !== undefined) {
      if (lastId !== undefined && compareStreamIds(event.id, lastId) <= 0) return false;
      lastId = event.id;
    }
    if (event.type === 'exit') {
      exited = true;
      handlers.onExit(parseExit(event.data));
    } else if (event.type === 'stdout' || event.type === 'stderr') {
      handlers.onOutput(event.type, event.data);
    }
    return true;
  }

  /** Reads one connection to its end; true when it delivered anything new. */
  async function readStream(response: Response): Promise<boolean> {
    let deliveredAny = false;
    const parser = createSseParser((event) => {
      if (exited || stopped) return;
      if (deliver(event)) deliveredAny = true;
    });
    const body = response.body;
    if (body === null) return false;
    const reader = body.getReader();
    const decoder = new TextDecoder();
    try {
      while (!exited && !stopped) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(decoder.decode(value, { stream: true }));
      }
    } finally {
      // Ends the request too: after the exit event there is nothing more worth holding a connection for.
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
    while (!stopped && !exited) {
      controller = new AbortController();
      try {
        const response = await options.open(lastId, controller.signal);
        if (stopped) break;
        handlers.onStateChange?.('streaming');
        if (await readStream(response)) failures = 0;
      } catch (error) {
        if (stopped || exited) break;
        if (!isRetryable(error)) {
          handlers.onFailure(error);
          return;
        }
      }
      if (stopped || exited) break;
      // The connection ended before the exit event: a dropped network, a restarted edge, a proxy timeout.
      failures += 1;
      if (failures > maxAttempts) {
        handlers.onFailure(new Error('The output stream kept failing; gave up reconnecting'));
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

/** Network failures and server-side trouble may pass; a 4xx answer (gone, forbidden) will not. */
function isRetryable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status >= 500 || error.status === 429 || error.status === 408;
}

function parseExit(data: string): ExitEvent {
  try {
    const parsed = ExitEvent.safeParse(JSON.parse(data));
    if (parsed.success) return parsed.data;
  } catch {
    // Fall through: an unreadable exit still ends the command.
  }
  return { exitCode: null, error: 'The server sent an unreadable exit status' };
}
