/**
 * Redis keys only the edge's fleet code reads and writes (never under a runner's prefix, so a
 * runner's ACL user cannot touch them).
 */
type Prefixed = { config: { redisPrefix: string } };

/** Held by the one sweep running now, across every edge (SET NX PX). */
export const sweepLockKey = (on: Prefixed) => `${on.config.redisPrefix}fleet:sweep:lock`;
/** Set after each sweep: check-ins from many runners do not sweep more often than this allows. */
export const sweepRecentKey = (on: Prefixed) => `${on.config.redisPrefix}fleet:sweep:recent`;
/** Set after the sweep asked for scheduled snapshots: the schedule is in minutes, its scan need not run every second. */
export const snapshotScheduleRecentKey = (on: Prefixed) =>
  `${on.config.redisPrefix}fleet:sweep:snapshot-schedule`;
/**
 * Why a workspace waits `queued` after it left a runner (lost, drained, moved by hand) and
 * whether it ran: the queued path creates it from its latest snapshot and starts it if it did.
 */
export const relocationKey = (on: Prefixed, workspaceId: string) =>
  `${on.config.redisPrefix}fleet:relocation:${workspaceId}`;
/** Workspaces whose move out of a draining runner or server ended without a place (since the drain began). */
export const drainFailedKey = (on: Prefixed, kind: 'runner' | 'server', id: string) =>
  `${on.config.redisPrefix}fleet:drain-failed:${kind}:${id}`;
/** Set while a workspace's failed move waits before the drain tries it again. */
export const moveBackoffKey = (on: Prefixed, workspaceId: string) =>
  `${on.config.redisPrefix}fleet:move-backoff:${workspaceId}`;
