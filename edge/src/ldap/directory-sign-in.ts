import type { Role } from '@keel/contract/auth';
import { identityProviders, userIdentities, users } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { appendAudit } from '../audit/audit-log.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { ApiError } from '../http/api-error.ts';
import { newId } from '../ids.ts';
import { endAccess } from '../members/end-access.ts';
import { admitToProviderOrganization, isMemberOf } from '../members/provider-membership.ts';
import type { Services } from '../services.ts';
import type { DirectoryPerson } from './ldap-directory.ts';
import { roleForGroups } from './ldap-roles.ts';
import type { DirectoryLoader } from './ldap-runtime.ts';
import { type LdapProvider, openBindPassword, parseLdap } from './provider-store.ts';

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

/** The directory refused a person it knows (disabled): their open sessions end too. */
async function refuseDisabled(
  services: Services,
  provider: LdapProvider,
  person: DirectoryPerson,
): Promise<never> {
  const user = await linkedUser(services, provider.row.id, person.subject);
  if (user) await endAccess(services, user.id, provider.row.organizationId, 'directory account disabled');
  await appendAudit(services, {
    action: 'auth.ldap_login',
    outcome: 'denied',
    actorId: user?.id ?? null,
    organizationId: provider.row.organizationId,
    targetId: provider.row.id,
    metadata: { reason: 'disabled' },
  });
  throw new ApiError('forbidden', 'This directory account is disabled');
}

/**
 * A person the directory vouched for becomes a signed-in member: found by their link to the
 * directory, else (only when the directory's e-mail is trusted) by e-mail, else created without
 * a password. Their role is the groups' mapping again at every sign-in.
 */
export async function admitDirectoryPerson(
  services: Services,
  provider: LdapProvider,
  person: DirectoryPerson,
): Promise<{ user: UserRow; organizationId: string; role: Role }> {
  const organizationId = provider.row.organizationId;
  if (person.disabled) await refuseDisabled(services, provider, person);
  const role = roleForGroups(person.groups, provider.config.groupRoleMap, provider.config.defaultRole);
  if (!role) {
    const user = await linkedUser(services, provider.row.id, person.subject);
    if (user) await endAccess(services, user.id, organizationId, 'directory groups give no role');
    throw new ApiError('forbidden', 'Your directory groups do not grant access to this organization');
  }
  const now = services.clock.now();
  let user = await linkedUser(services, provider.row.id, person.subject);
  if (!user && person.email && provider.config.trustEmail) {
    [user] = await services.db.select().from(users).where(eq(users.email, person.email)).limit(1);
    if (user && !(await isMemberOf(services, user.id, organizationId)))
      throw new ApiError(
        'email_taken',
        'An account with this e-mail belongs to another organization; it is not linked to this directory',
      );
  }
  if (!user) {
    const email =
      person.email ?? `${sha256Hex(`${provider.row.id} ${person.subject}`).slice(0, 24)}@directory.invalid`;
    const [taken] = await services.db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, email))
      .limit(1);
    if (taken)
      throw new ApiError(
        'email_taken',
        'An account with this e-mail exists already; an administrator may mark the directory’s e-mail as trusted to link them',
      );
    [user] = await services.db
      .insert(users)
      .values({
        id: newId('user'),
        email,
        name: person.name ?? person.email ?? person.subject,
        passwordHash: null,
        source: 'ldap',
      })
      .returning();
  }
  if (!user) throw new ApiError('internal_error', 'Could not create the account');
  if (user.disabledAt) throw new ApiError('forbidden', 'This account is disabled');

  const admitted = await admitToProviderOrganization(services, {
    userId: user.id,
    organizationId,
    providerId: provider.row.id,
    subject: person.subject,
    groups: person.groups,
    apply: role,
    roleIfNew: role,
    now,
  });
  if (!admitted) throw new ApiError('forbidden', 'This account is disabled in the organization');
  return { user, organizationId, role: admitted };
}

function recheckKey(services: Services, userId: string, providerId: string): string {
  return `${services.config.redisPrefix}ldap:recheck:${providerId}:${userId}`;
}

/**
 * At refresh: a directory person still exists and is enabled, asked of the directory at most
 * every `recheckMinutes`. False means refuse (their sessions are ended here). A directory that
 * cannot be reached keeps people signed in (an outage must not sign everyone out) and is
 * asked again at the next refresh; on workerd there is no directory client and no re-check.
 */
export async function directoryStillAdmits(
  services: Services,
  loader: DirectoryLoader | undefined,
  userId: string,
  organizationId: string,
): Promise<boolean> {
  if (!loader) return true;
  const links = await services.db
    .select({ provider: identityProviders, subject: userIdentities.subject })
    .from(userIdentities)
    .innerJoin(identityProviders, eq(identityProviders.id, userIdentities.providerId))
    .where(
      and(
        eq(userIdentities.userId, userId),
        eq(identityProviders.organizationId, organizationId),
        eq(identityProviders.kind, 'ldap'),
        eq(identityProviders.enabled, true),
      ),
    );
  if (links.length === 0) return true;
  const directory = await loader();
  for (const link of links) {
    const provider = parseLdap(link.provider);
    const key = recheckKey(services, userId, provider.row.id);
    const ttl = provider.config.recheckMinutes * 60;
    if (ttl > 0 && (await services.redis().set(key, '1', 'EX', ttl, 'NX')) !== 'OK') continue;
    let person: DirectoryPerson | undefined;
    try {
      person = await directory.findPersonBySubject(
        provider.config,
        await openBindPassword(services, provider.row),
        link.subject,
      );
    } catch {
      if (ttl > 0) await services.redis().del(key);
      continue;
    }
    const role = person
      ? roleForGroups(person.groups, provider.config.groupRoleMap, provider.config.defaultRole)
      : null;
    if (!person || person.disabled || !role) {
      await endAccess(
        services,
        userId,
        organizationId,
        person ? 'directory account disabled' : 'directory account removed',
      );
      await appendAudit(services, {
        action: 'auth.ldap_recheck',
        outcome: 'denied',
        actorId: userId,
        organizationId,
        targetId: provider.row.id,
        metadata: { reason: person ? (person.disabled ? 'disabled' : 'no_role') : 'removed' },
      });
      return false;
    }
  }
  return true;
}
