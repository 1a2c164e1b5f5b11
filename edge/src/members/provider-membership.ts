import { type Role, roleRank } from '@keel/contract/auth';
import { memberships, userIdentities, users } from '@keel/drizzle/schema';
import { and, eq, isNull, ne } from 'drizzle-orm';
import type { Services } from '../services.ts';
import { recheckOpenSessions } from './end-access.ts';

/**
 * What every sign-in provider (directory or single sign-on) does once it has vouched for a
 * person: their membership of the provider's organization (made with `roleIfNew`), the
 * provider's role re-applied when it gives one (never demoting the organization's last enabled
 * super_admin; open sessions and tokens read a change at once), the link to the provider with
 * the groups seen, and the last sign-in. Undefined: the membership is disabled (the caller
 * refuses in its own words).
 */
export async function admitToProviderOrganization(
  services: Services,
  input: {
    userId: string;
    organizationId: string;
    providerId: string;
    subject: string;
    groups: string[];
    /** The role the provider gives now; null: it gives none (an existing member keeps theirs). */
    apply: Role | null;
    roleIfNew: Role;
    now: Date;
  },
): Promise<Role | undefined> {
  const { userId, organizationId, now } = input;
  const own = and(eq(memberships.userId, userId), eq(memberships.organizationId, organizationId));
  const [membership] = await services.db.select().from(memberships).where(own).limit(1);
  if (membership?.disabledAt) return undefined;
  let role: Role;
  if (!membership) {
    role = input.roleIfNew;
    await services.db.insert(memberships).values({ userId, organizationId, role, createdAt: now });
  } else {
    role = membership.role;
    const change = input.apply !== null && input.apply !== membership.role ? input.apply : null;
    if (change && !(await demotesLastSuperAdmin(services, membership.role, change, input))) {
      role = change;
      await services.db.update(memberships).set({ role }).where(own);
      await recheckOpenSessions(services, userId, organizationId);
    }
  }
  await services.db
    .insert(userIdentities)
    .values({
      providerId: input.providerId,
      subject: input.subject,
      userId,
      groups: input.groups,
      lastSignInAt: now,
    })
    .onConflictDoUpdate({
      target: [userIdentities.providerId, userIdentities.subject],
      set: { groups: input.groups, lastSignInAt: now },
    });
  await services.db.update(users).set({ lastSignInAt: now }).where(eq(users.id, userId));
  return role;
}

async function demotesLastSuperAdmin(
  services: Services,
  from: Role,
  to: Role,
  who: { userId: string; organizationId: string },
): Promise<boolean> {
  if (from !== 'super_admin' || roleRank[to] >= roleRank.super_admin) return false;
  const [other] = await services.db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(
      and(
        eq(memberships.organizationId, who.organizationId),
        eq(memberships.role, 'super_admin'),
        isNull(memberships.disabledAt),
        ne(memberships.userId, who.userId),
      ),
    )
    .limit(1);
  return other === undefined;
}

/**
 * Whether the account is a member of the organization: a provider links an existing account by
 * e-mail only then, so whoever runs an organization's provider cannot take over another
 * organization's account (or an install administrator's) by claiming its address.
 */
export async function isMemberOf(
  services: Services,
  userId: string,
  organizationId: string,
): Promise<boolean> {
  const [row] = await services.db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.organizationId, organizationId)))
    .limit(1);
  return row !== undefined;
}
