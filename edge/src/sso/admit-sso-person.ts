import type { Role } from '@keel/contract/auth';
import { userIdentities, users } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { sha256Hex } from '../auth/bytes.ts';
import { newId } from '../ids.ts';
import { endAccess } from '../members/end-access.ts';
import { admitToProviderOrganization, isMemberOf } from '../members/provider-membership.ts';
import type { Services } from '../services.ts';
import { readSignInSettings } from './sign-in-settings.ts';
import type { SsoPerson } from './sso-person.ts';
import type { SsoProvider } from './sso-provider.ts';
import { SsoRefusal } from './sso-refusal.ts';
import { mappedRole } from './sso-roles.ts';

type UserRow = typeof users.$inferSelect;

async function linkedUser(
  services: Services,
  providerId: string,
  subject: string,
): Promise<UserRow | undefined> {
  const [row] = await services.db
    .select({ user: users })
    .from(userIdentities)
    .innerJoin(users, eq(users.id, userIdentities.userId))
    .where(and(eq(userIdentities.providerId, providerId), eq(userIdentities.subject, subject)))
    .limit(1);
  return row?.user;
}

/**
 * A person the provider vouched for becomes a signed-in member of the provider's organization:
 * found by their link to the provider; else an account with the same address, only when the
 * provider verified it; else a new account without a password. A mapped group or team sets the
 * role at every sign-in (never demoting the organization's last super_admin); without a mapped
 * one, a new member gets the provider's default role or the organization's.
 */
export async function admitSsoPerson(
  services: Services,
  provider: SsoProvider,
  person: SsoPerson,
): Promise<{ user: UserRow; organizationId: string; role: Role; created: boolean; linked: boolean }> {
  const organizationId = provider.row.organizationId;
  const mapped = mappedRole(person.groups, provider.config.groupRoleMap);
  const fallback =
    provider.config.defaultRole === undefined
      ? (await readSignInSettings(services, organizationId)).defaultRole
      : provider.config.defaultRole;
  if (!mapped && !fallback) {
    const user = await linkedUser(services, provider.row.id, person.subject);
    if (user) await endAccess(services, user.id, organizationId, 'provider groups give no role');
    throw new SsoRefusal('no_role', 'no mapped group or team and no default role');
  }

  const now = services.clock.now();
  let created = false;
  let linked = false;
  let user = await linkedUser(services, provider.row.id, person.subject);
  if (!user && person.email) {
    const [existing] = await services.db.select().from(users).where(eq(users.email, person.email)).limit(1);
    if (existing) {
      if (!person.emailVerified)
        throw new SsoRefusal(
          'email_unverified',
          'an account has this address and the provider did not verify it',
        );
      // An organization's provider vouches only for its own people: an account of another
      // organization (or an install administrator) is not taken over by whoever runs this provider.
      if (!(await isMemberOf(services, existing.id, organizationId)))
        throw new SsoRefusal(
          'account_exists',
          'the account with this address is not a member of the organization',
        );
      user = existing;
      linked = true;
    }
  }
  if (!user) {
    const email =
      person.email ?? `${sha256Hex(`${provider.row.id} ${person.subject}`).slice(0, 24)}@sso.invalid`;
    [user] = await services.db
      .insert(users)
      .values({
        id: newId('user'),
        email,
        name: (person.name ?? person.email ?? person.subject).slice(0, 100),
        passwordHash: null,
        source: provider.family,
      })
      .returning();
    created = true;
  }
  if (!user) throw new Error('the account was not created');
  if (user.disabledAt) throw new SsoRefusal('account_disabled', 'the account is disabled');

  const role = await admitToProviderOrganization(services, {
    userId: user.id,
    organizationId,
    providerId: provider.row.id,
    subject: person.subject,
    groups: person.groups,
    apply: mapped,
    roleIfNew: (mapped ?? fallback) as Role,
    now,
  });
  if (!role) throw new SsoRefusal('account_disabled', 'the membership is disabled');
  return { user, organizationId, role, created, linked };
}
