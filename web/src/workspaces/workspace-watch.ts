import type { Workspace } from '@keel/contract/workspaces';
import { type Accessor, createSignal } from 'solid-js';
import type { Timers } from '../api/browser-timers.ts';
import { browserTimers } from '../api/browser-timers.ts';
import type { WorkspaceAction, WorkspacesApi } from '../api/workspaces-api.ts';
import { recheckAfter } from './workspace-status.ts';

export interface WorkspaceWatch {
  /** Undefined until loaded. */
  workspace: Accessor<Workspace | undefined>;
  loadError: Accessor<unknown>;
  pendingAction: Accessor<WorkspaceAction | undefined>;
  load(): Promise<void>;
  act(action: WorkspaceAction): Promise<void>;
  /** Asks for the status now, e.g. because the workspace's log says something happened. */
  refresh(): Promise<void>;
  dispose(): void;
}

/**
 * One workspace, as the IDE sees it. While it is changing state the small status route is polled (not the
 * whole list), so the IDE notices when a start finishes and can load the files; while it runs, now and then,
 * so the IDE notices when its runner goes away.
 */
export function createWorkspaceWatch(
  api: WorkspacesApi,
  workspaceId: string,
  options: { timers?: Timers; pollMs?: number; runningPollMs?: number } = {},
): WorkspaceWatch {
  const timers = options.timers ?? browserTimers;
  const pollMs = options.pollMs ?? 2000;
  const runningPollMs = options.runningPollMs ?? 15_000;
  const [workspace, setWorkspace] = createSignal<Workspace>();
  const [loadError, setLoadError] = createSignal<unknown>();
  const [pendingAction, setPendingAction] = createSignal<WorkspaceAction>();
  let timer: unknown;
  let disposed = false;

  let polling: Promise<void> | undefined;

  /** Asks for the status now (one request at a time), then schedules the next ask. */
  function poll(): Promise<void> {
    polling ??= (async () => {
      try {
        const status = await api.status(workspaceId);
        setWorkspace((w) =>
          w === undefined
            ? w
            : { ...w, status: status.status, statusReason: status.reason, updatedAt: status.updatedAt },
        );
      } catch {
        // A failed poll is retried on the next tick; the page keeps showing the last known status.
      } finally {
        polling = undefined;
        schedule();
      }
    })();
    return polling;
  }

  function schedule(): void {
    const current = workspace();
    if (disposed || timer !== undefined || polling !== undefined || current === undefined) return;
    const delay = recheckAfter(current.status, pollMs, runningPollMs);
    if (delay === undefined) return;
    timer = timers.set(() => {
      timer = undefined;
      void poll();
    }, delay);
  }

  return {
    workspace,
    loadError,
    pendingAction,
    async load() {
      try {
        setWorkspace(await api.get(workspaceId));
        setLoadError(undefined);
      } catch (error) {
        setLoadError(error);
      }
      schedule();
    },
    async act(action) {
      setPendingAction(action);
      try {
        const status = await api.act(workspaceId, action);
        setWorkspace((w) => (w === undefined ? w : { ...w, status, statusReason: null }));
      } finally {
        setPendingAction(undefined);
        schedule();
      }
    },
    async refresh() {
      if (disposed || workspace() === undefined) return;
      timers.clear(timer);
      timer = undefined;
      await poll();
    },
    dispose() {
      disposed = true;
      timers.clear(timer);
      timer = undefined;
    },
  };
}
