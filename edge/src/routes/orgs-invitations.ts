import { adminRoutes } from '@keel/contract/api/admin';
import { memberRoutes } from '@keel/contract/api/members';
import {
  CreateInvitationRequest,
  type CreateInvitationResponse,
  Email,
  type Invitation,
  type InvitationDelivery,
  type Role,
  roleRank,
} from '@keel/contract/auth';
import { idSchema } from '@keel/contract/ids';
import { BulkInvitationRequest, type BulkInvitationResponse } from '@keel/contract/members';
import { invitations, memberships, organizations, users } from '@keel/drizzle/schema';
import { and, desc, eq, gt, inArray, isNull } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { randomToken, sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { type InvitationMail, mailAvailability, openMailer } from '../members/invitation-mail.ts';
import type { Services } from '../services.ts';

const OrgParams = z.object({ orgId: z.string() });
const InvitationParams = z.object({ orgId: z.string(), invitationId: z.string() });

type InvitationRow = typeof invitations.$inferSelect;

function invitationView(row: InvitationRow, now: Date): Invitation {
  return {
    id: row.id,
    organizationId: row.organizationId,
    email: row.email,
    role: row.role,
    status: row.acceptedAt
      ? 'accepted'
      : row.revokedAt
        ? 'revoked'
        : row.expiresAt <= now
          ? 'expired'
          : 'pending',
    expiresAt: row.expiresAt.toISOString(),
    acceptedAt: row.acceptedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * The web's sign-up page reads `invite` (web/src/pages/sign-up): on KEEL_PUBLIC_URL when set,
 * else on the origin the admin's request came to.
 */
function invitationLink(c: Context<AppEnv>, token: string): string {
  const base = (c.get('services').config.publicUrl ?? new URL(c.req.url).origin).replace(/\/+$/, '');
  return `${base}/sign-up?invite=${encodeURIComponent(token)}`;
}

function assertMayGrant(c: Context<AppEnv>, role: Role): void {
  const principal = c.get('principal');
  if (roleRank[role] > roleRank[principal.role]) {
    throw new ApiError('forbidden', `An ${principal.role} cannot invite a ${role}`);
  }
}

/** Who invites and to what, for the e-mail's words. */
async function mailContext(services: Services, userId: string, orgId: string) {
  const [row] = await services.db
    .select({ inviter: users.name, organization: organizations.name })
    .from(users)
    .innerJoin(organizations, eq(organizations.id, orgId))
    .where(eq(users.id, userId))
    .limit(1);
  return { inviter: row?.inviter ?? 'An admin', organization: row?.organization ?? 'your organization' };
}

/** Sends one e-mail per invitation over one connection; each answer says what happened to it. */
async function deliver(services: Services, mails: InvitationMail[]): Promise<InvitationDelivery[]> {
  if (mails.length === 0) return [];
  const mailer = await openMailer(services);
  if ('unavailable' in mailer) return mails.map(() => mailer.unavailable);
  try {
    const out: InvitationDelivery[] = [];
    for (const mail of mails) out.push(await mailer.send(mail));
    return out;
  } finally {
    mailer.close();
  }
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
    assertMayGrant(c, input.role);
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
    const link = invitationLink(c, token);
    const body: CreateInvitationResponse = { invitation: invitationView(row!, now), token, link };
    if (row!.email) {
      const words = await mailContext(services, principal.userId, orgId);
      [body.delivery] = await deliver(services, [
        { to: row!.email, link, role: row!.role, expiresAt: row!.expiresAt, ...words },
      ]);
      await auditDelivery(services, principal.userId, orgId, row!.id, body.delivery!);
    }
    return reply(c, adminRoutes.createInvitation, 201, body);
  });

  on(adminRoutes.listInvitations, async (c) => {
    const { db, clock } = c.get('services');
    const orgId = ownOrganization(c, readParams(c, OrgParams).orgId);
    // Every state, newest first: the console filters pending, accepted, expired and revoked.
    const rows = await db
      .select()
      .from(invitations)
      .where(eq(invitations.organizationId, orgId))
      .orderBy(desc(invitations.createdAt), desc(invitations.id))
      .limit(500);
    const now = clock.now();
    return reply(c, adminRoutes.listInvitations, 200, {
      invitations: rows.map((r) => invitationView(r, now)),
    });
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

  on(memberRoutes.bulkInvitations, async (c) => {
    const services = c.get('services');
    const principal = c.get('principal');
    const orgId = ownOrganization(c, readParams(c, OrgParams).orgId);
    const input = await readJson(c, BulkInvitationRequest);
    assertMayGrant(c, input.role);
    const now = services.clock.now();
    const { wanted, skipped } = await sortAddresses(services, orgId, input.emails, now);
    const tokens = wanted.map(() => randomToken('inv'));
    const rows =
      wanted.length === 0
        ? []
        : await services.db
            .insert(invitations)
            .values(
              wanted.map((email, i) => ({
                id: newId('invitation'),
                organizationId: orgId,
                email,
                role: input.role,
                tokenHash: sha256Hex(tokens[i]!),
                invitedBy: principal.userId,
                expiresAt: new Date(now.getTime() + input.expiresInSeconds * 1000),
                createdAt: now,
              })),
            )
            .returning();
    const links = tokens.map((t) => invitationLink(c, t));
    for (const row of rows) {
      await appendAudit(services, {
        action: 'invitation.create',
        outcome: 'success',
        actorId: principal.userId,
        organizationId: orgId,
        targetId: row.id,
        metadata: { role: row.role, boundToEmail: true, bulk: true },
      });
    }
    const words = rows.length > 0 ? await mailContext(services, principal.userId, orgId) : undefined;
    const deliveries = await deliver(
      services,
      rows.map((row, i) => ({
        to: row.email!,
        link: links[i]!,
        role: row.role,
        expiresAt: row.expiresAt,
        ...words!,
      })),
    );
    for (const [i, row] of rows.entries()) {
      await auditDelivery(services, principal.userId, orgId, row.id, deliveries[i]!);
    }
    const body: BulkInvitationResponse = {
      invited: rows.map((row, i) => ({
        email: row.email!,
        invitation: invitationView(row, now),
        link: links[i]!,
        delivery: deliveries[i]!,
      })),
      skipped,
      email: mailAvailability(services) ?? { status: 'sent', message: 'Invitations go out by e-mail' },
    };
    return reply(c, memberRoutes.bulkInvitations, 201, body);
  });

  return app;
}

/**
 * Each address on its own: malformed ones, repeats within the list, people already in the
 * organization and addresses with an open invitation are set aside with the reason.
 */
async function sortAddresses(services: Services, orgId: string, raw: readonly string[], now: Date) {
  const skipped: BulkInvitationResponse['skipped'] = [];
  const seen = new Set<string>();
  const valid: string[] = [];
  for (const given of raw) {
    const parsed = Email.safeParse(given);
    if (!parsed.success) {
      skipped.push({ email: given.slice(0, 320), reason: 'invalid', message: 'Not an e-mail address' });
    } else if (seen.has(parsed.data)) {
      skipped.push({ email: parsed.data, reason: 'duplicate', message: 'Listed more than once' });
    } else {
      seen.add(parsed.data);
      valid.push(parsed.data);
    }
  }
  if (valid.length === 0) return { wanted: valid, skipped };
  const members = await services.db
    .select({ email: users.email })
    .from(users)
    .innerJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.organizationId, orgId)))
    .where(inArray(users.email, valid));
  const open = await services.db
    .select({ email: invitations.email })
    .from(invitations)
    .where(
      and(
        eq(invitations.organizationId, orgId),
        inArray(invitations.email, valid),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, now),
      ),
    );
  const isMember = new Set(members.map((m) => m.email));
  const isInvited = new Set(open.map((o) => o.email));
  const wanted: string[] = [];
  for (const email of valid) {
    if (isMember.has(email)) {
      skipped.push({ email, reason: 'member', message: 'Already a member of the organization' });
    } else if (isInvited.has(email)) {
      skipped.push({ email, reason: 'invited', message: 'Already has an open invitation' });
    } else wanted.push(email);
  }
  return { wanted, skipped };
}

/** Sent or not, the trail says so (the address itself is in the invitation's row, not here). */
async function auditDelivery(
  services: Services,
  actorId: string,
  orgId: string,
  invitationId: string,
  delivery: InvitationDelivery,
): Promise<void> {
  if (delivery.status === 'off' || delivery.status === 'unavailable') return;
  await appendAudit(services, {
    action: 'invitation.email',
    outcome: delivery.status === 'sent' ? 'success' : 'failure',
    actorId,
    organizationId: orgId,
    targetId: invitationId,
  });
}
