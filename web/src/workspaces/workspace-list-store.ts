import type { Workspace } from '@keel/contract/workspaces';
import { type Accessor, createSignal } from 'solid-js';
import type { Timers } from '../api/browser-timers.ts';
import { browserTimers } from '../api/browser-timers.ts';
import type { NewWorkspace, WorkspaceAction, WorkspacesApi } from '../api/workspaces-api.ts';
import { recheckAfter } from './workspace-status.ts';

export type PendingAction = WorkspaceAction | 'delete';

export interface WorkspaceListStore {
  /** Undefined until the first answer. */
  workspaces: Accessor<Workspace[] | undefined>;
  loadError: Accessor<unknown>;
  /** The action running for a workspace, while its request is in flight. */
  pending(id: string): PendingAction | undefined;
  load(): Promise<void>;
  create(input: NewWorkspace): Promise<Workspace>;
  act(id: string, action: WorkspaceAction): Promise<void>;
  remove(id: string): Promise<void>;
  /** Call when the page becomes visible again: polling pauses while it is hidden. */
  resume(): void;
  dispose(): void;
}

export interface WorkspaceListOptions {
  api: WorkspacesApi;
  timers?: Timers;
  /** How often to ask again while some workspace is in a transitional state. */
  pollMs?: number;
  /** How often to ask again while workspaces run (to notice a runner that went away). */
  runningPollMs?: number;
  isVisible?: () => boolean;
}

/**
 * The workspace selector's state. It polls the list while the page is visible: every few seconds while a
 * workspace is changing state, every `runningPollMs` while some run (a runner that goes away makes its
 * workspaces `unavailable` with no one acting), and not at all when every workspace rests.
 */
export function createWorkspaceListStore(options: WorkspaceListOptions): WorkspaceListStore {
  const timers = options.timers ?? browserTimers;
  const pollMs = options.pollMs ?? 3000;
  const runningPollMs = options.runningPollMs ?? 15_000;
  const isVisible = options.isVisible ?? (() => true);
  const [workspaces, setWorkspaces] = createSignal<Workspace[]>();
  const [loadError, setLoadError] = createSignal<unknown>();
  const [pendingActions, setPendingActions] = createSignal<ReadonlyMap<string, PendingAction>>(new Map());
  let pollTimer: unknown;
  let pollDelay = Number.POSITIVE_INFINITY;
  let disposed = false;
  let loading: Promise<void> | undefined;

  function setPending(id: string, action: PendingAction | undefined): void {
    const next = new Map(pendingActions());
    if (action === undefined) next.delete(id);
    else next.set(id, action);
    setPendingActions(next);
  }

  function patch(id: string, change: Partial<Workspace>): void {
    setWorkspaces((list) => list?.map((w) => (w.id === id ? { ...w, ...change } : w)));
  }

  function schedule(): void {
    if (disposed) return;
    const delays = (workspaces() ?? [])
      .map((w) => recheckAfter(w.status, pollMs, runningPollMs))
      .filter((d) => d !== undefined);
    if (delays.length === 0) return;
    const delay = Math.min(...delays);
    // A workspace that starts changing while the slow re-check waits is asked about soon.
    if (pollTimer !== undefined) {
      if (delay >= pollDelay) return;
      timers.clear(pollTimer);
    }
    pollDelay = delay;
    pollTimer = timers.set(() => {
      pollTimer = undefined;
      // Hidden tabs skip the request; `resume` catches up when the person comes back.
      if (isVisible()) void load();
    }, delay);
  }

  function load(): Promise<void> {
    loading ??= (async () => {
      try {
        setWorkspaces(await options.api.list());
        setLoadError(undefined);
      } catch (error) {
        setLoadError(error);
      } finally {
        loading = undefined;
        schedule();
      }
    })();
    return loading;
  }

  async function create(input: NewWorkspace): Promise<Workspace> {
    const created = await options.api.create(input);
    setWorkspaces((list) => [created, ...(list ?? []).filter((w) => w.id !== created.id)]);
    schedule();
    return created;
  }

  async function act(id: string, action: WorkspaceAction): Promise<void> {
    setPending(id, action);
    try {
      const status = await options.api.act(id, action);
      patch(id, { status, statusReason: null });
    } finally {
      setPending(id, undefined);
      schedule();
    }
  }

  async function remove(id: string): Promise<void> {
    setPending(id, 'delete');
    try {
      await options.api.remove(id);
      // The API hides a deleted workspace at once, while the runner still cleans up behind it.
      setWorkspaces((list) => list?.filter((w) => w.id !== id));
    } finally {
      setPending(id, undefined);
    }
  }

  return {
    workspaces,
    loadError,
    pending: (id) => pendingActions().get(id),
    load,
    create,
    act,
    remove,
    resume() {
      const stale = (workspaces() ?? []).some(
        (w) => recheckAfter(w.status, pollMs, runningPollMs) !== undefined,
      );
      if (pollTimer === undefined && stale) void load();
    },
    dispose() {
      disposed = true;
      timers.clear(pollTimer);
      pollTimer = undefined;
    },
  };
}
