import { serverRoutes as routes, ServerIdParam } from '@keel/contract/api/servers';
import { idSchema } from '@keel/contract/ids';
import { ServerAccessQuery, type ServerKind } from '@keel/contract/servers';
import { runners, servers } from '@keel/drizzle/schema';
import { and, asc, eq, isNotNull, isNull } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readParams, readQuery } from '../http/validate.ts';
import { serverAccess } from '../servers/access.ts';
import { type RunnerIdentity, serves } from '../servers/assignment.ts';

/** The calling runner, as deciding which servers it serves needs it. */
async function callingRunner(c: Context<AppEnv>): Promise<RunnerIdentity> {
  const [row] = await c
    .get('services')
    .db.select({ id: runners.id, organizationId: runners.organizationId, labels: runners.labels })
    .from(runners)
    .where(and(eq(runners.id, c.get('runnerId')), isNull(runners.revokedAt)))
    .limit(1);
  if (!row) throw new ApiError('invalid_token', 'Runner credential is invalid or revoked');
  return row;
}

/**
 * What runners ask of the servers assigned to them: which ones (to collect their resources),
 * and, one job at a time, a server's access with its secrets. Nothing here is cached by anyone.
 */
export function runnerServerRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/runners');

  on(routes.runnerServers, async (c) => {
    const runner = await callingRunner(c);
    const rows = await c
      .get('services')
      .db.select({
        id: servers.id,
        kind: servers.kind,
        organizationId: servers.organizationId,
        assignment: servers.assignment,
        updatedAt: servers.updatedAt,
      })
      .from(servers)
      .where(
        and(
          isNotNull(servers.assignment),
          // A runner of an organization serves only that organization's servers; a shared one, any.
          runner.organizationId === null ? undefined : eq(servers.organizationId, runner.organizationId),
        ),
      )
      .orderBy(asc(servers.id))
      .limit(10_000);
    c.header('Cache-Control', 'no-store');
    return reply(c, routes.runnerServers, 200, {
      servers: rows
        .filter((s) => serves(runner, s))
        .map((s) => ({ id: s.id, kind: s.kind as ServerKind, updatedAt: s.updatedAt.toISOString() })),
    });
  });

  on(routes.runnerServerAccess, async (c) => {
    const services = c.get('services');
    const runner = await callingRunner(c);
    const { id } = readParams(c, ServerIdParam);
    const { purpose } = readQuery(c, ServerAccessQuery);
    if (!idSchema('server').safeParse(id).success) throw new ApiError('not_found', 'No such server');
    const [row] = await services.db.select().from(servers).where(eq(servers.id, id)).limit(1);
    // Not assigned to this runner is the same 404 as not there: a runner learns nothing of others' servers.
    if (!row || !serves(runner, row)) {
      await appendAudit(services, {
        action: 'server.credential.used',
        outcome: 'denied',
        organizationId: runner.organizationId,
        targetId: id,
        metadata: { runnerId: runner.id, purpose },
      });
      throw new ApiError('not_found', 'No such server assigned to this runner');
    }
    const access = await serverAccess(services, row);
    await appendAudit(services, {
      action: 'server.credential.used',
      outcome: 'success',
      organizationId: row.organizationId,
      targetId: row.id,
      metadata: { runnerId: runner.id, purpose, credentialFingerprint: row.credentialFingerprint },
    });
    c.header('Cache-Control', 'no-store');
    return reply(c, routes.runnerServerAccess, 200, { access });
  });

  return app;
}
