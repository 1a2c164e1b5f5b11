import { ExitEvent } from '@keel/contract/workspaces';
import type { Timers } from './browser-timers.ts';
import { type FollowState, followResumableStream, type StreamFollower } from './resumable-event-stream.ts';

export type { FollowState } from './resumable-event-stream.ts';
export type OutputStream = 'stdout' | 'stderr';

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

/** Stopping it leaves the command running on the server; `done` settles on exit, failure or stop. */
export type ExecutionFollower = StreamFollower;

/**
 * Reads an execution's output to its exit event, surviving network drops without losing or doubling
 * output (see {@link followResumableStream}).
 */
export function followExecution(options: FollowOptions, handlers: FollowHandlers): ExecutionFollower {
  return followResumableStream(
    { ...options, isLast: (event) => event.type === 'exit' },
    {
      onEvent(event) {
        if (event.type === 'exit') handlers.onExit(parseExit(event.data));
        else if (event.type === 'stdout' || event.type === 'stderr')
          handlers.onOutput(event.type, event.data);
      },
      onStateChange: handlers.onStateChange,
      onFailure: handlers.onFailure,
    },
  );
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
