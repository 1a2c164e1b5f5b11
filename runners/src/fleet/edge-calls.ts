/**
 * The runner's calls to its edge about where workspaces are: which of its workspaces moved
 * away (fencing), handing a saved workspace over, and beginning and completing snapshots.
 * Each is one HTTPS call with the runner's credential, bounded in time.
 */

import type { HandoffRequest, HandoffResponse, PlacementsCheckResponse } from '@keel/contract/fleet';
import type {
  RunnerBeginSnapshotRequest,
  RunnerBeginSnapshotResponse,
  RunnerCompleteSnapshotRequest,
  SnapshotStoreAccess,
} from '@keel/contract/snapshots';
import type { z } from 'zod';
import type { EdgeCaller } from '../servers/access.ts';

export type { EdgeCaller };

export async function checkPlacements(
  _edge: EdgeCaller,
  _workspaces: { id: string; generation: number }[],
): Promise<z.infer<typeof PlacementsCheckResponse>> {
  throw new Error('not built yet');
}

export async function handOff(
  _edge: EdgeCaller,
  _workspaceId: string,
  _request: z.infer<typeof HandoffRequest>,
): Promise<z.infer<typeof HandoffResponse>> {
  throw new Error('not built yet');
}

export async function beginSnapshot(
  _edge: EdgeCaller,
  _request: z.infer<typeof RunnerBeginSnapshotRequest>,
): Promise<z.infer<typeof RunnerBeginSnapshotResponse>> {
  throw new Error('not built yet');
}

export async function completeSnapshot(
  _edge: EdgeCaller,
  _snapshotId: string,
  _request: RunnerCompleteSnapshotRequest,
): Promise<{ recorded: boolean }> {
  throw new Error('not built yet');
}

export async function fetchSnapshotStore(_edge: EdgeCaller): Promise<SnapshotStoreAccess> {
  throw new Error('not built yet');
}
