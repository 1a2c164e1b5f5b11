/**
 * One workspace, one lifecycle at a time, as people's requests meet it. A request that
 * conflicts with where the workspace is now is refused (409 `conflict`, saying why) or
 * accepted and queued on its runner, which runs a workspace's lifecycle jobs one at a time in
 * the order they came (runners/src/workspaces/lifecycle-queue.ts); it is never turned into a
 * failure.
 *
 *   status now            start / stop / restart            delete
 *   queued                409: waiting for a place            accepted (nothing to remove yet)
 *   relocating, or a      409: moving to another runner       accepted (queued after the move)
 *   move under way
 *   creating, starting,   accepted: runs after the step       accepted: runs after the step
 *   stopping              under way                           under way
 *   running, stopped,     accepted                            accepted
 *   failed
 *   unavailable           503 runner_unavailable (offline, or another driver now)
 *   deleting              404 (deleted workspaces are gone)
 *
 * "Now" is the newer of the status the runner last wrote and the one the edge stored: the edge
 * writes `queued` and `relocating` itself, the runner everything it does.
 */

import { ApiError } from '../http/api-error.ts';
import type { LiveStatus, WorkspaceRow } from './access.ts';

export function currentStatus(row: WorkspaceRow, live: LiveStatus | undefined): string {
  if (!live) return row.status;
  const at = Date.parse(live.at);
  return Number.isNaN(at) || at >= row.updatedAt.getTime() ? live.status : row.status;
}

/** Refuses a start, stop or restart that cannot be queued now (see the table above). */
export function assertLifecycleAccepted(
  action: 'start' | 'stop' | 'restart',
  row: WorkspaceRow,
  live: LiveStatus | undefined,
): void {
  const status = currentStatus(row, live);
  if (status === 'queued') {
    throw new ApiError(
      'conflict',
      `This workspace is waiting for a place on a runner; it cannot ${action} until it has one`,
    );
  }
  if (status === 'relocating' || row.move) {
    throw new ApiError(
      'conflict',
      `This workspace is moving to another runner; ${action} it once it is back`,
    );
  }
}
