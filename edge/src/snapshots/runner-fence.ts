/**
 * The fence on a runner's snapshot reports: a runner speaks for a workspace only while it holds
 * it, at the generation it names. A runner that lost the workspace (it moved, its host was
 * declared lost and came back) is refused with 409 and its report changes nothing.
 */
import { runners, workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services.ts';

export type CallingRunner = { id: string; organizationId: string | null };
type WorkspaceRow = typeof workspaces.$inferSelect;

export async function callingRunner(services: Services, runnerId: string): Promise<CallingRunner> {
  const [row] = await services.db
    .select({ id: runners.id, organizationId: runners.organizationId })
    .from(runners)
    .where(and(eq(runners.id, runnerId), isNull(runners.revokedAt)))
    .limit(1);
  if (!row) throw new ApiError('invalid_token', 'Runner credential is invalid or revoked');
  return row;
}

/**
 * The workspace, read from the database (never a cache: the fence must see the placement that
 * holds now). Unknown, deleted, or of an organization the runner does not serve: 404, as if
 * absent. Held by another runner, or at another generation: 409, audited.
 */
export async function heldWorkspace(
  services: Services,
  runner: CallingRunner,
  workspaceId: string,
  generation: number,
  action: string,
): Promise<WorkspaceRow> {
  const [row] = await services.db
    .select()
    .from(workspaces)
    .where(and(eq(workspaces.id, workspaceId), isNull(workspaces.deletedAt)))
    .limit(1);
  if (!row || (runner.organizationId !== null && row.organizationId !== runner.organizationId)) {
    throw new ApiError('not_found', 'No such workspace');
  }
  if (row.runnerId !== runner.id || row.generation !== generation) {
    await fenced(services, runner, row, generation, action);
  }
  return row;
}

export async function fenced(
  services: Services,
  runner: CallingRunner,
  row: { id: string; organizationId: string; generation: number },
  generation: number,
  action: string,
  snapshotId?: string,
): Promise<never> {
  await appendAudit(services, {
    action,
    outcome: 'denied',
    organizationId: row.organizationId,
    workspaceId: row.id,
    targetId: snapshotId ?? null,
    metadata: { runnerId: runner.id, generation, heldGeneration: row.generation, reason: 'fenced' },
  });
  throw new ApiError(
    'conflict',
    'This runner does not hold the workspace at that generation: it moved, and this report is refused',
  );
}
