/**
 * The runner's calls to its edge about snapshots: the store's access, and beginning and
 * completing a snapshot (both fenced by the generation the runner holds the workspace at).
 */

import type {
  RunnerBeginSnapshotRequest,
  RunnerBeginSnapshotResponse,
  RunnerCompleteSnapshotRequest,
  SnapshotStoreAccessResponse,
} from '@keel/contract/snapshots';
import type { z } from 'zod';
import type { EdgeCaller } from '../servers/access.ts';

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

export async function fetchSnapshotStore(
  _edge: EdgeCaller,
): Promise<z.infer<typeof SnapshotStoreAccessResponse>> {
  throw new Error('not built yet');
}
