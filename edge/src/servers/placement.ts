import type { DriverKind } from '@keel/contract/runners';
import { type ServerKind, ServerStorage } from '@keel/contract/servers';
import { type runners, workspaces } from '@keel/drizzle/schema';
import { and, count, eq, isNull, sql } from 'drizzle-orm';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services.ts';
import { onlineRunnerFor } from './assignment.ts';
import { loadServer, type ServerRow } from './store.ts';

type RunnerRow = typeof runners.$inferSelect;
type WorkspaceInsert = typeof workspaces.$inferInsert;
type WorkspaceRow = typeof workspaces.$inferSelect;

export interface ServerPlace {
  server: ServerRow;
  runner: RunnerRow;
  driver: DriverKind;
}

function refused(message: string): ApiError {
  return new ApiError('validation_failed', message, [{ path: 'serverId', message }]);
}

/**
 * Where a workspace asked for on `serverId` goes: the organization's server (404 for any
 * other id), open to new workspaces and passed its last test (422 otherwise), through an
 * online runner it is assigned to (503 while none is). The workspace runs on the server's
 * kind of driver.
 */
export async function placeOnServer(
  services: Services,
  organizationId: string,
  serverId: string,
): Promise<ServerPlace> {
  const server = await loadServer(services, organizationId, serverId);
  if (server.disabled || server.drainingAt) throw refused('The server is closed to new workspaces');
  if (server.status !== 'ok')
    throw refused('The server has not passed its connection test; ask an admin to test it');
  const runner = await onlineRunnerFor(services, server);
  if (!runner) {
    throw new ApiError('runner_unavailable', 'No runner the server is assigned to is online; ask an admin');
  }
  return { server, runner, driver: server.kind as ServerKind };
}

/**
 * Inserts the workspace on its server unless the server's capacity is reached: counted and
 * inserted under a per-server lock, so two creates at once cannot both take the last place.
 */
export async function insertOnServer(
  services: Services,
  server: ServerRow,
  values: WorkspaceInsert,
): Promise<WorkspaceRow> {
  return services.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`server-capacity:${server.id}`}))`);
    const [{ n } = { n: 0 }] = await tx
      .select({ n: count() })
      .from(workspaces)
      .where(and(eq(workspaces.serverId, server.id), isNull(workspaces.deletedAt)));
    if (Number(n) >= server.capacity.workspaces) {
      throw new ApiError(
        'resource_limit',
        `The server holds its most workspaces (${server.capacity.workspaces}); delete one or choose another server`,
      );
    }
    const [row] = await tx.insert(workspaces).values(values).returning();
    return row!;
  });
}

/** What the create job tells the runner of the server: which, whose, and where files go. */
export function serverSpec(server: ServerRow, workspaceId: string) {
  const storage = ServerStorage.parse(server.storage);
  return {
    serverId: server.id,
    driver: server.kind as ServerKind,
    ...(storage.kind === 'pvc' ? { diskGb: storage.sizeGb } : {}),
    // A host folder per workspace under the admin's folder (the docker drivers' `hostDir`).
    ...(storage.kind === 'hostDir' ? { hostDir: `${storage.path.replace(/\/+$/, '')}/${workspaceId}` } : {}),
  };
}
