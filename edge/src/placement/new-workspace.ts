/**
 * Placement of a workspace being created: by the policy when no server was asked for (queued,
 * with the reason, when nothing fits), or recorded as the person's choice when one was.
 */
import type { PlacementDecision } from '@keel/contract/placement';
import { workspaces } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import type { ServerPlace } from '../servers/placement.ts';
import type { Services } from '../services.ts';
import { decidePlacement } from './decide.ts';
import { recordDecision } from './record.ts';

type WorkspaceInsert = typeof workspaces.$inferInsert;
type WorkspaceRow = typeof workspaces.$inferSelect;

/**
 * Inserts the workspace (the decision record refers to it), decides, and stores where it goes:
 * its runner and driver, or `queued` with the decision's summary as the reason. It is inserted
 * `creating` with no runner, never `queued`, so a sweep cannot place it twice meanwhile.
 */
export async function placeNew(
  services: Services,
  values: WorkspaceInsert,
): Promise<{ row: WorkspaceRow; placementId: string }> {
  const [inserted] = await services.db
    .insert(workspaces)
    .values({ ...values, runnerId: null, driver: null, status: 'creating' })
    .returning();
  const row = inserted!;
  let outcome: Awaited<ReturnType<typeof decidePlacement>>;
  try {
    outcome = await decidePlacement(services, {
      organizationId: row.organizationId,
      workspaceId: row.id,
      generation: row.generation,
      resources: row.resources,
      request: row.placement ?? null,
      reason: 'create',
    });
  } catch (err) {
    // Never left `creating` with no runner: it says what went wrong.
    await services.db
      .update(workspaces)
      .set({ status: 'failed', statusReason: 'placement failed; create it again' })
      .where(eq(workspaces.id, row.id));
    throw err;
  }
  const set =
    outcome.runner && outcome.driver
      ? { runnerId: outcome.runner.id, driver: outcome.driver, status: 'creating', statusReason: null }
      : { status: 'queued', statusReason: outcome.decision.summary };
  const [updated] = await services.db
    .update(workspaces)
    .set(set)
    .where(eq(workspaces.id, row.id))
    .returning();
  return { row: updated!, placementId: outcome.decision.id };
}

/** A workspace put on a server by its creator: recorded like any decision, `decidedBy: server`. */
export async function recordServerChoice(
  services: Services,
  row: WorkspaceRow,
  place: ServerPlace,
): Promise<PlacementDecision> {
  return recordDecision(services, {
    organizationId: row.organizationId,
    workspaceId: row.id,
    generation: row.generation,
    reason: 'create',
    strategy: null,
    decidedBy: 'server',
    runnerId: place.runner.id,
    serverId: place.server.id,
    summary: `on server ${place.server.name}, as its creator asked, through runner ${place.runner.name}`,
    candidates: [
      {
        runnerId: place.runner.id,
        runnerName: place.runner.name,
        verdict: 'chosen',
        refusal: null,
        detail: null,
        score: null,
      },
    ],
  });
}
