/**
 * The fleet's life: runners lost and workspaces moved. The edge holds no timers: the sweep
 * that declares runners lost, places queued workspaces, moves those of lost or draining runners
 * and asks for scheduled snapshots runs inside the surviving runners' periodic check-ins (at
 * most one sweep at a time across every edge, by a Redis lock).
 *
 * Fencing: each placement of a workspace has a generation (`workspaces.generation`), raised
 * whenever the workspace moves. Jobs carry it; a runner keeps the generation it holds each
 * workspace at and refuses older ones; the edge refuses a runner's report (snapshots, handoffs)
 * for a workspace it no longer holds at that generation; and a runner asks, at start and at
 * each check-in, which of its workspaces moved away, and removes its stale copies.
 */
import { z } from 'zod';
import { idSchema } from './ids.ts';

/** A runner whose heartbeat has been gone this long is lost and its workspaces move. */
export const RUNNER_LOST_AFTER_SECONDS = 15;
/** A workspace waiting `queued` this long without a place fails with `no_capacity`. */
export const QUEUED_GIVE_UP_SECONDS = 600;
/** Moves a draining runner or server runs at once. */
export const DRAIN_CONCURRENCY = 2;

/** `POST /api/runners/placements/check`: the workspaces a runner holds, at which generation. */
export const PlacementsCheckRequest = z.strictObject({
  workspaces: z
    .array(z.strictObject({ id: idSchema('workspace'), generation: z.number().int().min(1) }))
    .max(10_000),
});
/** Those no longer the runner's at that generation (moved, deleted, or a newer generation): remove them. */
export const PlacementsCheckResponse = z.object({ stale: z.array(z.string()) });

/**
 * `POST /api/runners/workspaces/:id/handoff`: the old runner stopped the workspace and saved
 * its final snapshot; the edge places it where the move goes (generation + 1) and starts it
 * there. Answered `{ moved: true }`: the old runner removes its copy.
 */
export const HandoffRequest = z.strictObject({
  generation: z.number().int().min(1),
  snapshotId: idSchema('snapshot'),
  wasRunning: z.boolean(),
});
export const HandoffResponse = z.object({
  moved: z.boolean(),
  runnerId: z.string().nullable(),
  generation: z.number().int(),
});

/** Where a move goes, kept on the workspace until the handoff (`workspaces.move`). */
export const WorkspaceMove = z.object({
  reason: z.enum(['drain', 'manual']),
  target: z.union([
    z.object({ runnerId: idSchema('runner') }),
    z.object({ serverId: idSchema('server') }),
    z.object({ policy: z.literal(true) }),
  ]),
  requestedAt: z.string(),
  requestedBy: z.string().nullable(),
});
export type WorkspaceMove = z.infer<typeof WorkspaceMove>;

/** `POST /api/admin/runners/:id/drain` (and servers): on, or back off. */
export const DrainRequest = z.strictObject({ drain: z.boolean() });
/** Where a drain stands: workspaces still there, moving now, and failed moves. */
export const DrainProgress = z.object({
  draining: z.boolean(),
  since: z.string().nullable(),
  remaining: z.number().int(),
  moving: z.number().int(),
  failed: z.number().int(),
});
export type DrainProgress = z.infer<typeof DrainProgress>;
export const DrainResponse = z.object({ id: z.string(), drain: DrainProgress });
