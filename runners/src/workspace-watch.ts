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

/**
 * What to publish when Keel says a workspace runs and the engine says otherwise: someone
 * removed or stopped its container outside Keel, or it crashed. Nothing when they agree.
 */
export function correction(
  published: PublishedStatus | undefined,
  engine: WorkloadState | undefined,
): { status: 'stopped' | 'failed'; reason: string } | undefined {
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
