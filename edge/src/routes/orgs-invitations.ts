import { adminRoutes } from '@keel/contract/api/admin';
import {
  CreateInvitationRequest,
  type CreateInvitationResponse,
  type Invitation,
  roleRank,
} from '@keel/contract/auth';
import { idSchema } from '@keel/contract/ids';
import { invitations } from '@keel/drizzle/schema';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { randomToken, sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams } from '../http/validate.ts';
import { newId } from '../ids.ts';

const OrgParams = z.object({ orgId: z.string() });
const InvitationParams = z.object({ orgId: z.string(), invitationId: z.string() });

function invitationView(row: typeof invitations.$inferSelect): Invitation {
  return {
    id: row.id,
    organizationId: row.organizationId,
    email: row.email,
    role: row.role,
    expiresAt: row.expiresAt.toISOString(),
    acceptedAt: row.acceptedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Another organization's id, or a malformed one, is simply not found: ids are not an oracle. */
function ownOrganization(c: Context<AppEnv>, orgId: string): string {
  if (!idSchema('organization').safeParse(orgId).success || orgId !== c.get('principal').organizationId) {
    throw new ApiError('not_found', 'No such organization');
  }
  return orgId;
}

export function invitationRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/orgs');

  on(adminRoutes.createInvitation, async (c) => {
    const services = c.get('services');
    const principal = c.get('principal');
    const orgId = ownOrganization(c, readParams(c, OrgParams).orgId);
    const input = await readJson(c, CreateInvitationRequest);
    if (roleRank[input.role] > roleRank[principal.role]) {
      throw new ApiError('forbidden', `An ${principal.role} cannot invite a ${input.role}`);
    }
    const token = randomToken('inv');
    const now = services.clock.now();
    const [row] = await services.db
      .insert(invitations)
      .values({
        id: newId('invitation'),
        organizationId: orgId,
        email: input.email ?? null,
        role: input.role,
        tokenHash: sha256Hex(token),
        invitedBy: principal.userId,
        expiresAt: new Date(now.getTime() + input.expiresInSeconds * 1000),
        createdAt: now,
      })
      .returning();
    await appendAudit(services, {
      action: 'invitation.create',
      outcome: 'success',
      actorId: principal.userId,
      organizationId: orgId,
      targetId: row!.id,
      metadata: { role: input.role, boundToEmail: input.email !== undefined },
    });
    const body: CreateInvitationResponse = { invitation: invitationView(row!), token };
    return reply(c, adminRoutes.createInvitation, 201, body);
  });

  on(adminRoutes.listInvitations, async (c) => {
    const { db } = c.get('services');
    const orgId = ownOrganization(c, readParams(c, OrgParams).orgId);
    const rows = await db
      .select()
      .from(invitations)
      .where(and(eq(invitations.organizationId, orgId), isNull(invitations.revokedAt)))
      .orderBy(desc(invitations.createdAt))
      .limit(500);
    return reply(c, adminRoutes.listInvitations, 200, { invitations: rows.map(invitationView) });
  });

  on(adminRoutes.revokeInvitation, async (c) => {
    const services = c.get('services');
    const params = readParams(c, InvitationParams);
    const orgId = ownOrganization(c, params.orgId);
    // Checked before the query: text PostgreSQL cannot hold (a NUL) would fail there, not miss.
    if (!idSchema('invitation').safeParse(params.invitationId).success) {
      throw new ApiError('not_found', 'No such open invitation');
    }
    const revoked = await services.db
      .update(invitations)
      .set({ revokedAt: services.clock.now() })
      .where(
        and(
          eq(invitations.id, params.invitationId),
          eq(invitations.organizationId, orgId),
          isNull(invitations.revokedAt),
          isNull(invitations.acceptedAt),
        ),
      )
      .returning({ id: invitations.id });
    if (revoked.length === 0) throw new ApiError('not_found', 'No such open invitation');
    await appendAudit(services, {
      action: 'invitation.revoke',
      outcome: 'success',
      actorId: c.get('principal').userId,
      organizationId: orgId,
      targetId: params.invitationId,
    });
    return c.body(null, 204);
  });

  return app;
}
