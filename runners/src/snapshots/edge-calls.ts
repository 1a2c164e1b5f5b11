/**
 * The runner's calls to its edge about snapshots: the store's access, and beginning and
 * completing a snapshot (both fenced by the generation the runner holds the workspace at).
 * Each is one HTTPS call with the runner's credential, bounded in time, its answer parsed.
 */

import {
  type RunnerBeginSnapshotRequest,
  RunnerBeginSnapshotResponse,
  type RunnerCompleteSnapshotRequest,
  RunnerCompleteSnapshotResponse,
  SnapshotStoreAccessResponse,
} from '@keel/contract/snapshots';
import type { z } from 'zod';
import { callEdge, type EdgeCaller } from '../edge-call.ts';
import { ServerAccessError, serverAccessError } from '../servers/access.ts';

export async function beginSnapshot(
  edge: EdgeCaller,
  request: z.infer<typeof RunnerBeginSnapshotRequest>,
): Promise<z.infer<typeof RunnerBeginSnapshotResponse>> {
  const body = await callEdge(
    edge,
    { method: 'POST', path: '/api/runners/snapshots', what: 'a new snapshot', body: request },
    serverAccessError,
  );
  const parsed = RunnerBeginSnapshotResponse.safeParse(body);
  if (!parsed.success) throw new ServerAccessError('invalid', 'the edge answered an unreadable snapshot id');
  return parsed.data;
}

export async function completeSnapshot(
  edge: EdgeCaller,
  snapshotId: string,
  request: RunnerCompleteSnapshotRequest,
): Promise<{ recorded: boolean }> {
  const path = `/api/runners/snapshots/${encodeURIComponent(snapshotId)}/complete`;
  const body = await callEdge(
    edge,
    { method: 'POST', path, what: `the report of snapshot ${snapshotId}`, body: request },
    serverAccessError,
  );
  const parsed = RunnerCompleteSnapshotResponse.safeParse(body);
  if (!parsed.success)
    throw new ServerAccessError('invalid', 'the edge answered an unreadable report answer');
  return parsed.data;
}

/** The store's access, with its secret: the caller keeps it in memory only, and never logs it. */
export async function fetchSnapshotStore(
  edge: EdgeCaller,
): Promise<z.infer<typeof SnapshotStoreAccessResponse>> {
  const body = await callEdge(
    edge,
    { method: 'GET', path: '/api/runners/snapshot-store', what: 'the snapshot store' },
    serverAccessError,
  );
  const parsed = SnapshotStoreAccessResponse.safeParse(body);
  // zod's issues may quote the secret: none of them goes into the message.
  if (!parsed.success)
    throw new ServerAccessError('invalid', 'the edge answered an unreadable snapshot store');
  return parsed.data;
}
