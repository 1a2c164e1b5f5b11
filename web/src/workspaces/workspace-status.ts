import type { WorkspaceStatus } from '@keel/contract/workspaces';
import type { WorkspaceAction } from '../api/workspaces-api.ts';

export const STATUS_LABELS: Record<WorkspaceStatus, string> = {
  creating: 'Creating',
  starting: 'Starting',
  running: 'Running',
  stopping: 'Stopping',
  stopped: 'Stopped',
  failed: 'Failed',
  deleting: 'Deleting',
  unavailable: 'Unavailable',
  queued: 'Queued',
  // People see a move, not the word the API uses for it.
  relocating: 'Moving',
};

const TRANSITIONAL: ReadonlySet<WorkspaceStatus> = new Set([
  'creating',
  'starting',
  'stopping',
  'deleting',
  'relocating',
]);

/** A status that will change on its own soon, so it is worth asking again. */
export function isTransitional(status: WorkspaceStatus): boolean {
  return TRANSITIONAL.has(status);
}

/**
 * A status worth asking about again soon: the transitional ones, `unavailable`, which ends by
 * itself when the workspace's runner comes back, and `queued`, which ends when a runner has room.
 */
export function mayChangeSoon(status: WorkspaceStatus): boolean {
  return TRANSITIONAL.has(status) || status === 'unavailable' || status === 'queued';
}

/** Statuses whose reason says something people need: why it failed, waits, or moves. */
export function showsReason(status: WorkspaceStatus): boolean {
  return status === 'failed' || status === 'unavailable' || status === 'queued' || status === 'relocating';
}

/**
 * How long to wait before asking about a workspace again: soon while it changes state; now and
 * then while it runs, because its runner may go away and it then becomes `unavailable` without
 * anyone acting on it; never when it rests (stopped, failed).
 */
export function recheckAfter(status: WorkspaceStatus, soonMs: number, runningMs: number): number | undefined {
  if (mayChangeSoon(status)) return soonMs;
  return status === 'running' ? runningMs : undefined;
}

/** The life-cycle actions that make sense from a status; transitional ones allow none. */
export function actionsFor(status: WorkspaceStatus): WorkspaceAction[] {
  switch (status) {
    case 'running':
      return ['stop', 'restart'];
    case 'stopped':
    case 'failed':
      return ['start'];
    default:
      return [];
  }
}

export const ACTION_LABELS: Record<WorkspaceAction, { label: string; pending: string }> = {
  start: { label: 'Start', pending: 'Starting…' },
  stop: { label: 'Stop', pending: 'Stopping…' },
  restart: { label: 'Restart', pending: 'Restarting…' },
};
