/**
 * Fencing, the runner's part at start and at each check-in: asks the edge which of the
 * workspaces this runner holds moved away (or were deleted, or are held elsewhere at a newer
 * generation), and removes those copies here. Only what was asked about is removed, and only
 * if it is still held at the generation asked about when its turn in the workspace's lifecycle
 * comes: a create at a newer generation that arrived meanwhile keeps its workspace.
 */
import { idSchema } from '@keel/contract/ids';
import { log } from '../log.ts';
import type { RunnerContext } from '../runner-context.ts';
import { checkPlacements, type EdgeCaller } from './edge-calls.ts';
import { removeLocalCopy } from './local-copy.ts';

const WorkspaceId = idSchema('workspace');
/** What one check may name (the route's bound). */
const MAX_PER_CHECK = 10_000;

/** Returns the ids removed. Throws when the edge gave no usable answer (nothing is removed then). */
export async function removeStaleCopies(ctx: RunnerContext, edge: EdgeCaller): Promise<string[]> {
  const ids = await ctx.redis.smembers(ctx.keys.workspaces);
  // A workspace made before generations were recorded is at the first one.
  const asked = new Map(
    ids
      .filter((id) => WorkspaceId.safeParse(id).success)
      .slice(0, MAX_PER_CHECK)
      .map((id) => [id, ctx.generations.of(id) ?? 1] as const),
  );
  if (asked.size === 0) return [];
  const { stale } = await checkPlacements(
    edge,
    [...asked].map(([id, generation]) => ({ id, generation })),
  );
  const removed: string[] = [];
  for (const id of new Set(stale)) {
    const generation = asked.get(id);
    // An id this runner did not ask about is not the edge's to have removed.
    if (generation === undefined) continue;
    try {
      await ctx.busyWith(id, () =>
        ctx.lifecycleQueue.run(id, async () => {
          const still =
            (ctx.generations.of(id) ?? 1) === generation &&
            (await ctx.redis.sismember(ctx.keys.workspaces, id)) === 1;
          if (!still) return;
          await removeLocalCopy(
            ctx,
            id,
            `the edge says it is no longer this runner's at generation ${generation}`,
          );
          removed.push(id);
        }),
      );
    } catch (err) {
      // One copy that cannot be removed now (its server out of reach) is tried again next time.
      log('warn', 'a stale copy of a workspace could not be removed', {
        workspaceId: id,
        error: String(err),
      });
    }
  }
  return removed;
}
