import type { RouteInput, RouteOutput } from '@keel/contract/api/describe';
import { fleetRoutes } from '@keel/contract/api/fleet';
import { placementRoutes } from '@keel/contract/api/placement';
import { snapshotRoutes } from '@keel/contract/api/snapshots';
import type { DrainProgress } from '@keel/contract/fleet';
import type { PlacementDecision, PlacementPolicy } from '@keel/contract/placement';
import type { SnapshotView } from '@keel/contract/snapshots';
import { callRoute } from './call-route.ts';
import type { ApiClient } from './client.ts';

export type OrgPlacementPolicy = RouteOutput<typeof placementRoutes.getPlacementPolicy>;
export type SnapshotStoreChange = RouteInput<typeof snapshotRoutes.updateSnapshotStore>['body'];
export type SnapshotStore = RouteOutput<typeof snapshotRoutes.snapshotStore>;

export interface WorkspacePlacement {
  current: PlacementDecision | null;
  history: PlacementDecision[];
}

/**
 * Where workspaces run and what keeps their files: the organization's placement policy, drains
 * of runners and servers, a workspace's placement and snapshots, and the install's snapshot store.
 */
export interface FleetApi {
  placementPolicy(): Promise<OrgPlacementPolicy>;
  /** `null`: back to the install's default. */
  setPlacementPolicy(policy: PlacementPolicy | null): Promise<OrgPlacementPolicy>;
  drainRunner(id: string, drain: boolean, shared?: boolean): Promise<DrainProgress>;
  drainServer(id: string, drain: boolean): Promise<DrainProgress>;
  workspacePlacement(id: string): Promise<WorkspacePlacement>;
  snapshots(workspaceId: string): Promise<SnapshotView[]>;
  /** Accepted at once; the snapshot is `pending` until the runner has saved it. */
  snapshot(workspaceId: string): Promise<SnapshotView>;
  /** The workspace's files are replaced (it is stopped first and started again if it ran). */
  restore(workspaceId: string, snapshotId: string): Promise<{ status: string }>;
  deleteSnapshot(workspaceId: string, snapshotId: string): Promise<void>;
  snapshotStore(): Promise<SnapshotStore>;
  setSnapshotStore(change: SnapshotStoreChange): Promise<SnapshotStore>;
}

export function createFleetApi(client: ApiClient): FleetApi {
  return {
    placementPolicy: () => callRoute(client, placementRoutes.getPlacementPolicy, {}),
    setPlacementPolicy: (policy) =>
      callRoute(client, placementRoutes.updatePlacementPolicy, { body: { policy } }),
    drainRunner: async (id, drain, shared = false) =>
      (
        await callRoute(client, shared ? fleetRoutes.drainSharedRunner : fleetRoutes.drainRunner, {
          params: { id },
          body: { drain },
        })
      ).drain,
    drainServer: async (id, drain) =>
      (await callRoute(client, fleetRoutes.drainServer, { params: { id }, body: { drain } })).drain,
    workspacePlacement: (id) => callRoute(client, placementRoutes.workspacePlacement, { params: { id } }),
    snapshots: async (id) =>
      (await callRoute(client, snapshotRoutes.listSnapshots, { params: { id } })).snapshots,
    snapshot: async (id) =>
      (await callRoute(client, snapshotRoutes.createSnapshot, { params: { id }, body: {} })).snapshot,
    restore: (id, snapshotId) =>
      callRoute(client, snapshotRoutes.restoreSnapshot, { params: { id, snapshotId } }),
    async deleteSnapshot(id, snapshotId) {
      await callRoute(client, snapshotRoutes.deleteSnapshot, { params: { id, snapshotId } });
    },
    snapshotStore: () => callRoute(client, snapshotRoutes.snapshotStore, {}),
    setSnapshotStore: (change) => callRoute(client, snapshotRoutes.updateSnapshotStore, { body: change }),
  };
}
