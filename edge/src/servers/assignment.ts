import type { ServerAssignment } from '@keel/contract/servers';
import { runners } from '@keel/drizzle/schema';
import { and, eq, isNull, or } from 'drizzle-orm';
import { ApiError } from '../http/api-error.ts';
import { heartbeatsOf } from '../runners/registry.ts';
import type { Services } from '../services.ts';

type RunnerRow = typeof runners.$inferSelect;

/** What deciding "does this runner serve this server" needs of each. */
export interface RunnerIdentity {
  id: string;
  organizationId: string | null;
  labels: Record<string, string>;
}
export interface ServerPlacement {
  organizationId: string;
  assignment: ServerAssignment | null;
}

/**
 * Whether `runner` serves `server`: a runner of the server's organization, or a shared one,
 * named by the assignment or carrying every label it asks for. An unassigned server has none.
 */
export function serves(runner: RunnerIdentity, server: ServerPlacement): boolean {
  if (runner.organizationId !== null && runner.organizationId !== server.organizationId) return false;
  const a = server.assignment;
  if (!a) return false;
  if ('runnerId' in a) return a.runnerId === runner.id;
  return Object.entries(a.runnerLabels).every(([k, v]) => runner.labels[k] === v);
}

/** The active runners an organization may assign servers to: its own and the shared ones. */
function candidates(services: Services, organizationId: string): Promise<RunnerRow[]> {
  return services.db
    .select()
    .from(runners)
    .where(
      and(
        or(eq(runners.organizationId, organizationId), isNull(runners.organizationId)),
        isNull(runners.revokedAt),
      ),
    )
    .limit(1000);
}

/**
 * Refuses (422) an assignment to a runner the organization may not use: another
 * organization's, a revoked one, or one that does not exist, all alike.
 */
export async function assertAssignable(
  services: Services,
  organizationId: string,
  assignment: ServerAssignment | null,
): Promise<void> {
  if (!assignment || !('runnerId' in assignment)) return;
  const [row] = await services.db
    .select({ id: runners.id })
    .from(runners)
    .where(
      and(
        eq(runners.id, assignment.runnerId),
        or(eq(runners.organizationId, organizationId), isNull(runners.organizationId)),
        isNull(runners.revokedAt),
      ),
    )
    .limit(1);
  if (!row) {
    throw new ApiError('validation_failed', 'No such runner to assign the server to', [
      { path: 'assignment.runnerId', message: 'not an active runner of this organization or a shared one' },
    ]);
  }
}

/**
 * The online runner that serves `server` now (a heartbeat in Redis means online), or
 * undefined. Among several carrying its labels, the one running the fewest workspaces for
 * its capacity.
 */
export async function onlineRunnerFor(
  services: Services,
  server: ServerPlacement,
): Promise<RunnerRow | undefined> {
  if (!server.assignment) return undefined;
  const rows = (await candidates(services, server.organizationId)).filter((r) => serves(r, server));
  const beats = await heartbeatsOf(
    services,
    rows.map((r) => r.id),
  );
  let best: { row: RunnerRow; load: number } | undefined;
  for (const row of rows) {
    const beat = beats.get(row.id);
    if (!beat) continue;
    const load = beat.workspacesRunning / Math.max(1, row.capacity.workspaces);
    if (!best || load < best.load) best = { row, load };
  }
  return best?.row;
}

/** Every active runner that serves `server`, online or not (whose resource reports count). */
export async function runnersServing(services: Services, server: ServerPlacement): Promise<RunnerRow[]> {
  if (!server.assignment) return [];
  return (await candidates(services, server.organizationId)).filter((r) => serves(r, server));
}
