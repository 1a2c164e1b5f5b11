import { compareStreamIds } from '@keel/contract/stream-ids';
import { LogLine } from '@keel/contract/workspaces';
import { type Accessor, createSignal } from 'solid-js';
import type { Timers } from '../api/browser-timers.ts';
import {
  followResumableStream,
  type ServerSentEvent,
  type StreamFollower,
} from '../api/resumable-event-stream.ts';
import type { WorkspacesApi } from '../api/workspaces-api.ts';

export interface WorkspaceLogFollower {
  /** Undefined until the first answer. */
  lines: Accessor<LogLine[] | undefined>;
  error: Accessor<unknown>;
  /** Reads the whole log once. */
  refresh(): Promise<void>;
  /** Follows the log live (Server-Sent Events, resumed after the last line held), until `stop`. */
  follow(): void;
  stop(): void;
}

/**
 * Shows a workspace's life-cycle log (clone progress, start-up, failures). `refresh` reads it whole;
 * `follow` reads it as it grows from the live stream, which a reconnect resumes after the last line held,
 * so a line is never shown twice. It follows only while someone has the progress panel open.
 */
export function createWorkspaceLogFollower(
  api: WorkspacesApi,
  workspaceId: string,
  options: { timers?: Timers } = {},
): WorkspaceLogFollower {
  const [lines, setLines] = createSignal<LogLine[]>();
  const [error, setError] = createSignal<unknown>();
  let stream: StreamFollower | undefined;

  async function refresh(): Promise<void> {
    try {
      const list = await api.logs(workspaceId);
      // Lines the live stream delivered while the list was on its way are newer than the list: kept.
      const newest = list.at(-1)?.id;
      const later = (lines() ?? []).filter((l) => newest === undefined || compareStreamIds(l.id, newest) > 0);
      setLines([...list, ...later]);
      setError(undefined);
    } catch (failure) {
      setError(failure);
    }
  }

  function append(event: ServerSentEvent): void {
    if (event.id === undefined) return;
    const held = lines() ?? [];
    const last = held.at(-1);
    // The list read by `refresh` and the stream overlap: keep what is newer than the last line held.
    if (last && compareStreamIds(event.id, last.id) <= 0) return;
    const line = LogLine.safeParse({
      id: event.id,
      at: new Date(Number(event.id.split('-')[0])).toISOString(),
      stream: event.type,
      text: event.data,
    });
    if (line.success) setLines([...held, line.data]);
  }

  return {
    lines,
    error,
    refresh,
    follow() {
      if (stream) return;
      stream = followResumableStream(
        {
          open: (lastEventId, signal) =>
            api.openLogEvents(workspaceId, lastEventId ?? lines()?.at(-1)?.id, signal),
          // A log has no last line: it is followed until `stop`.
          isLast: () => false,
          timers: options.timers,
        },
        {
          onEvent(event) {
            setError(undefined);
            if (lines() === undefined) setLines([]);
            append(event);
          },
          onFailure(failure) {
            setError(failure);
            stream = undefined;
          },
        },
      );
    },
    stop() {
      stream?.stop();
      stream = undefined;
    },
  };
}
