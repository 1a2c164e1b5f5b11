import type { SnapshotView } from '@keel/contract/snapshots';
import { type Accessor, createSignal } from 'solid-js';
import { browserTimers, type Timers } from '../api/browser-timers.ts';
import type { FleetApi } from '../api/fleet-api.ts';

export type SnapshotAction = 'restore' | 'delete';

export interface SnapshotListStore {
  /** Newest first; undefined until the first answer. */
  snapshots: Accessor<SnapshotView[] | undefined>;
  loadError: Accessor<unknown>;
  /** Whether a new snapshot is being asked for. */
  taking: Accessor<boolean>;
  pending(id: string): SnapshotAction | undefined;
  load(): Promise<void>;
  /** Asks for a snapshot now; it is listed `pending` until the runner has saved it. */
  take(): Promise<SnapshotView>;
  restore(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  dispose(): void;
}

/**
 * One workspace's snapshots. While one is `pending` the list is asked for again every `pollMs`,
 * so it turns `ready` (with its size) or `failed` (with why) without a reload.
 */
export function createSnapshotListStore(
  api: FleetApi,
  workspaceId: string,
  options: { timers?: Timers; pollMs?: number } = {},
): SnapshotListStore {
  const timers = options.timers ?? browserTimers;
  const pollMs = options.pollMs ?? 2000;
  const [snapshots, setSnapshots] = createSignal<SnapshotView[]>();
  const [loadError, setLoadError] = createSignal<unknown>();
  const [taking, setTaking] = createSignal(false);
  const [pendingActions, setPendingActions] = createSignal<ReadonlyMap<string, SnapshotAction>>(new Map());
  let timer: unknown;
  let disposed = false;
  let loading: Promise<void> | undefined;

  function setPending(id: string, action: SnapshotAction | undefined): void {
    const next = new Map(pendingActions());
    if (action === undefined) next.delete(id);
    else next.set(id, action);
    setPendingActions(next);
  }

  function schedule(): void {
    if (disposed || timer !== undefined) return;
    if (!(snapshots() ?? []).some((s) => s.status === 'pending')) return;
    timer = timers.set(() => {
      timer = undefined;
      void load();
    }, pollMs);
  }

  function load(): Promise<void> {
    loading ??= (async () => {
      try {
        setSnapshots(await api.snapshots(workspaceId));
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

  return {
    snapshots,
    loadError,
    taking,
    pending: (id) => pendingActions().get(id),
    load,
    async take() {
      setTaking(true);
      try {
        const snapshot = await api.snapshot(workspaceId);
        setSnapshots((list) => [snapshot, ...(list ?? []).filter((s) => s.id !== snapshot.id)]);
        schedule();
        return snapshot;
      } finally {
        setTaking(false);
      }
    },
    async restore(id) {
      setPending(id, 'restore');
      try {
        await api.restore(workspaceId, id);
      } finally {
        setPending(id, undefined);
      }
    },
    async remove(id) {
      setPending(id, 'delete');
      try {
        await api.deleteSnapshot(workspaceId, id);
        setSnapshots((list) => list?.filter((s) => s.id !== id));
      } finally {
        setPending(id, undefined);
      }
    },
    dispose() {
      disposed = true;
      timers.clear(timer);
      timer = undefined;
    },
  };
}
