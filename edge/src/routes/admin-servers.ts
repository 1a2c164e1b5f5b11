import { serverRoutes as routes, ServerIdParam } from '@keel/contract/api/servers';
import type { Permission } from '@keel/contract/permissions';
import {
  ConfirmHostKeyRequest,
  CreateServerRequest,
  type ServerKind,
  UpdateServerRequest,
} from '@keel/contract/servers';
import { servers, workspaces } from '@keel/drizzle/schema';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { type AuditMetadata, appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readJson, readParams } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { assertAssignable } from '../servers/assignment.ts';
import { runConnectionTest } from '../servers/connection-test.ts';
import { connectionOf, endpointSchema, sealCredential } from '../servers/credential.ts';
import { sshFingerprint } from '../servers/host-key.ts';
import {
  isUniqueViolation,
  loadServer,
  nameTaken,
  oneServerView,
  type ServerRow,
  serverViews,
} from '../servers/store.ts';
import { updateChanges } from '../servers/update.ts';

/** The permission these routes need (their declared access), named in their audit entries. */
export const SERVERS_MANAGE = 'servers:manage' satisfies Permission;

async function audit(
  c: Context<AppEnv>,
  action: string,
  serverId: string,
  metadata: AuditMetadata,
  outcome: 'success' | 'failure' = 'success',
): Promise<void> {
  const p = c.get('principal');
  await appendAudit(c.get('services'), {
    action,
    outcome,
    actorId: p.userId,
    organizationId: p.organizationId,
    targetId: serverId,
    metadata: { permission: SERVERS_MANAGE, ...metadata },
  });
}

/** A server of the caller's organization named in the path; another's, or a bad id, is a 404. */
function serverOf(c: Context<AppEnv>): Promise<ServerRow> {
  const { id } = readParams(c, ServerIdParam);
  return loadServer(c.get('services'), c.get('principal').organizationId, id);
}

/** Admins' server registry: register, list, change, remove, test, confirm a host key. */
export function adminServerRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin/servers');

  on(routes.listServers, async (c) => {
    const services = c.get('services');
    const org = c.get('principal').organizationId;
    const rows = await services.db
      .select()
      .from(servers)
      .where(eq(servers.organizationId, org))
      .orderBy(asc(servers.name))
      .limit(1000);
    return reply(c, routes.listServers, 200, { servers: await serverViews(services, org, rows) });
  });

  on(routes.createServer, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const input = await readJson(c, CreateServerRequest);
    await assertAssignable(services, p.organizationId, input.assignment);
    const { endpoint, secret } = connectionOf(input);
    const id = newId('server');
    const now = services.clock.now();
    const sealed = await sealCredential(services, id, secret);
    let row: ServerRow | undefined;
    try {
      [row] = await services.db
        .insert(servers)
        .values({
          id,
          organizationId: p.organizationId,
          name: input.name,
          kind: input.kind,
          labels: input.labels,
          region: input.region,
          capacity: input.capacity,
          storage: input.storage,
          assignment: input.assignment,
          endpoint,
          ...sealed,
          credentialUpdatedAt: now,
          status: 'new',
          createdBy: p.userId,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name);
      throw err;
    }
    await audit(c, 'server.create', id, {
      kind: input.kind,
      credentialFingerprint: sealed.credentialFingerprint,
    });
    return reply(c, routes.createServer, 201, { server: await oneServerView(services, row!) });
  });

  on(routes.getServer, async (c) => {
    const row = await serverOf(c);
    return reply(c, routes.getServer, 200, { server: await oneServerView(c.get('services'), row) });
  });

  on(routes.updateServer, async (c) => {
    const services = c.get('services');
    const row = await serverOf(c);
    const input = await readJson(c, UpdateServerRequest);
    if (input.assignment !== undefined)
      await assertAssignable(services, row.organizationId, input.assignment);
    const changes = await updateChanges(services, row, input);
    let updated: ServerRow | undefined;
    try {
      [updated] = await services.db
        .update(servers)
        .set(changes)
        .where(and(eq(servers.id, row.id), eq(servers.organizationId, row.organizationId)))
        .returning();
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name ?? row.name);
      throw err;
    }
    if (!updated) throw new ApiError('not_found', 'No such server');
    await audit(c, 'server.update', row.id, {
      // Which fields, never their values: some of them are secrets.
      fields: Object.keys(input).sort().join(','),
      credentialReplaced: changes.credentialSealed !== undefined,
    });
    return reply(c, routes.updateServer, 200, { server: await oneServerView(services, updated) });
  });

  on(routes.deleteServer, async (c) => {
    const services = c.get('services');
    const row = await serverOf(c);
    // Checked and deleted in one transaction, under the lock a create on the server takes
    // (servers/placement.ts), so no workspace lands on a server being removed.
    const outcome = await services.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`server-capacity:${row.id}`}))`);
      const [live] = await tx
        .select({ id: workspaces.id })
        .from(workspaces)
        .where(and(eq(workspaces.serverId, row.id), isNull(workspaces.deletedAt)))
        .limit(1);
      if (live) return 'busy' as const;
      await tx.delete(servers).where(eq(servers.id, row.id));
      return 'deleted' as const;
    });
    if (outcome === 'busy') {
      throw new ApiError(
        'conflict',
        'Workspaces live on this server; delete them first, or disable the server',
      );
    }
    await audit(c, 'server.delete', row.id, { kind: row.kind });
    return c.body(null, 204);
  });

  on(routes.testServer, async (c) => {
    const services = c.get('services');
    const row = await serverOf(c);
    const { result, row: tested } = await runConnectionTest(services, row, jobTraceOf(c));
    await audit(
      c,
      'server.test',
      row.id,
      { code: result.code ?? null, runnerId: result.runnerId, durationMs: result.durationMs },
      result.ok ? 'success' : 'failure',
    );
    return reply(c, routes.testServer, 200, { server: await oneServerView(services, tested), result });
  });

  on(routes.confirmServerHostKey, async (c) => {
    const services = c.get('services');
    const row = await serverOf(c);
    const { fingerprint } = await readJson(c, ConfirmHostKeyRequest);
    if ((row.kind as ServerKind) !== 'ssh')
      throw new ApiError('conflict', 'Only SSH servers have a host key');
    const offered = row.offeredHostKey;
    if (!offered) throw new ApiError('conflict', 'No host key waits for confirmation; test the server first');
    if (sshFingerprint(offered) !== fingerprint) {
      throw new ApiError(
        'conflict',
        'The fingerprint is not the one the last test offered; test again and compare it with the host',
      );
    }
    const endpoint = endpointSchema.ssh.parse(row.endpoint);
    // Pinned only if nothing changed the offer in between (another confirmation, or a PATCH).
    const [updated] = await services.db
      .update(servers)
      .set({
        endpoint: { ...endpoint, hostKey: offered },
        offeredHostKey: null,
        // Pinned, not yet tested with it: the next test says whether the rest works.
        status: 'new',
        updatedAt: services.clock.now(),
      })
      .where(and(eq(servers.id, row.id), eq(servers.offeredHostKey, offered)))
      .returning();
    if (!updated) throw new ApiError('conflict', 'The offered host key changed meanwhile; test again');
    await audit(c, 'server.host_key.pin', row.id, { fingerprint });
    return reply(c, routes.confirmServerHostKey, 200, { server: await oneServerView(services, updated) });
  });

  return app;
}
