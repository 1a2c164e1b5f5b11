import type { DriverKind } from '@keel/contract/runners';
import type { WorkspaceStatus } from '@keel/contract/workspaces';
import type { Redis } from 'ioredis';
import type { WorkloadState } from './workloads/types.ts';

/** A workspace's status as the runner publishes it under its prefix. */
export interface PublishedStatus {
  status: WorkspaceStatus;
  reason: string | null;
  at: string;
}

export function parseStatus(raw: string | null | undefined): PublishedStatus | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as PublishedStatus;
  } catch {
    return undefined;
  }
}

/** Why a runner cannot serve a workspace placed on another driver than the one it runs. */
export function foreignDriverReason(workspace: DriverKind, runner: DriverKind): string {
  return `it runs on the ${workspace} driver and its runner now runs ${runner}`;
}

/**
 * What to publish when Keel says a workspace runs and the engine says otherwise: someone
 * removed or stopped its container outside Keel, or it crashed. Nothing when they agree.
 * A workspace of another driver than the runner's is not in this engine at all: it is
 * unavailable (its workload is intact where it was), never failed. So is one whose server
 * cannot be reached now (`unreachable` says why); once it can, it reads what its engine says.
 */
export function correction(
  published: PublishedStatus | undefined,
  engine: WorkloadState | undefined,
  drivers?: {
    workspace: DriverKind | undefined;
    runner: DriverKind;
    /** It lives on an infrastructure server: its server's driver serves it, whatever the runner's is. */
    onServer?: boolean;
    /** Its server cannot be reached now, and why. */
    unreachable?: string | undefined;
  },
): { status: 'running' | 'stopped' | 'failed' | 'unavailable'; reason: string | null } | undefined {
  const unavailable =
    drivers?.unreachable ??
    (drivers?.workspace && !drivers.onServer && drivers.workspace !== drivers.runner
      ? foreignDriverReason(drivers.workspace, drivers.runner)
      : undefined);
  if (unavailable !== undefined) {
    if (!published || (published.status === 'unavailable' && published.reason === unavailable))
      return undefined;
    return { status: 'unavailable', reason: unavailable };
  }
  if (published?.status === 'unavailable') {
    // Reachable again: it is what its engine says.
    if (!engine) return { status: 'failed', reason: 'its container was removed outside Keel' };
    return { status: engine.status, reason: null };
  }
  if (published?.status !== 'running') return undefined;
  if (!engine) return { status: 'failed', reason: 'its container was removed outside Keel' };
  if (engine.status === 'running') return undefined;
  const code = /Exited \((-?\d+)\)/.exec(engine.detail ?? '')?.[1];
  return { status: 'stopped', reason: `it stopped outside Keel${code ? ` (exit code ${code})` : ''}` };
}

const REPLACE_IF_UNCHANGED = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/**
 * Sets `key` to `next` only while it still holds `expected`, so a status written meanwhile
 * (a start or stop that just finished) is never overwritten by an older observation.
 */
export async function replaceIfUnchanged(
  redis: Redis,
  key: string,
  expected: string,
  next: string,
): Promise<boolean> {
  return (await redis.eval(REPLACE_IF_UNCHANGED, 1, key, expected, next)) === 1;
}
