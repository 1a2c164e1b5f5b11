import type { LogLine } from '@keel/contract/workspaces';
import { type Accessor, createSignal } from 'solid-js';
import type { Timers } from '../api/browser-timers.ts';
import { browserTimers } from '../api/browser-timers.ts';
import type { WorkspacesApi } from '../api/workspaces-api.ts';

export interface WorkspaceLogFollower {
  /** Undefined until the first answer. */
  lines: Accessor<LogLine[] | undefined>;
  error: Accessor<unknown>;
  refresh(): Promise<void>;
  /** Refreshes now and then every few seconds, until `stop`. */
  follow(): void;
  stop(): void;
}

/**
 * Shows a workspace's life-cycle log (clone progress, start-up, failures). The route returns the whole
 * log each time, so following is a plain poll; it runs only while someone has the progress panel open.
 */
export function createWorkspaceLogFollower(
  api: WorkspacesApi,
  workspaceId: string,
  options: { timers?: Timers; pollMs?: number } = {},
): WorkspaceLogFollower {
  const timers = options.timers ?? browserTimers;
  const pollMs = options.pollMs ?? 1500;
  const [lines, setLines] = createSignal<LogLine[]>();
  const [error, setError] = createSignal<unknown>();
  let following = false;
  let timer: unknown;

  async function refresh(): Promise<void> {
    try {
      setLines(await api.logs(workspaceId));
      setError(undefined);
    } catch (failure) {
      setError(failure);
    }
  }

  async function tick(): Promise<void> {
    await refresh();
    if (following) timer = timers.set(() => void tick(), pollMs);
  }

  return {
    lines,
    error,
    refresh,
    follow() {
      if (following) return;
      following = true;
      void tick();
    },
    stop() {
      following = false;
      timers.clear(timer);
      timer = undefined;
    },
  };
}
