import type { InstallAdmin } from '@keel/contract/install';
import { refreshTokenFamilies, users } from '@keel/drizzle/schema';
import { and, asc, eq, isNull, ne, sql } from 'drizzle-orm';
import { REVOKED_MARKER } from '../auth/sessions.ts';
import { ApiError } from '../http/api-error.ts';
import { sessionCacheKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';

/** Any fixed number: grants and revocations take turns, so "never none left" holds. */
const INSTALL_ADMINS_LOCK_ID = 7_204_113_611;

const adminView = (u: { id: string; email: string; name: string }): InstallAdmin => ({
  id: u.id,
  email: u.email,
  name: u.name,
});

export async function listInstallAdmins(services: Services): Promise<InstallAdmin[]> {
  const rows = await services.db
    .select({ id: users.id, email: users.email, name: users.name })
    .from(users)
    .where(and(eq(users.installAdmin, true), isNull(users.disabledAt)))
    .orderBy(asc(users.createdAt), asc(users.id));
  return rows.map(adminView);
}

/** Makes the account with this e-mail an install administrator; `granted` is false if it already was. */
export async function grantInstallAdmin(
  services: Services,
  email: string,
): Promise<{ admin: InstallAdmin; granted: boolean }> {
  const result = await services.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${INSTALL_ADMINS_LOCK_ID})`);
    const [user] = await tx
      .select()
      .from(users)
      .where(and(eq(users.email, email), isNull(users.disabledAt)))
      .limit(1);
    if (!user) throw new ApiError('not_found', 'No active account has this e-mail address');
    if (user.installAdmin) return { admin: adminView(user), granted: false };
    await tx.update(users).set({ installAdmin: true }).where(eq(users.id, user.id));
    return { admin: adminView(user), granted: true };
  });
  if (result.granted) await forgetCachedSessions(services, result.admin.id);
  return result;
}

/**
 * Takes install administration from a user. Refused when it would leave no active install
 * administrator: nobody could then manage shared runners or install settings.
 */
export async function revokeInstallAdmin(services: Services, userId: string): Promise<void> {
  await services.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${INSTALL_ADMINS_LOCK_ID})`);
    const [user] = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.id, userId), eq(users.installAdmin, true)))
      .limit(1);
    if (!user) throw new ApiError('not_found', 'No such install administrator');
    const [other] = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.installAdmin, true), isNull(users.disabledAt), ne(users.id, userId)))
      .limit(1);
    if (!other) {
      throw new ApiError('last_install_admin', 'The install needs at least one install administrator');
    }
    await tx.update(users).set({ installAdmin: false }).where(eq(users.id, userId));
  });
  await forgetCachedSessions(services, userId);
}

/** Deletes a cached confirmation unless it is a revocation marker, which must stay. */
const FORGET_UNLESS_REVOKED = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

/**
 * Drops the user's cached session confirmations, so what the principal says of install
 * administration follows the database at the next request instead of a minute later.
 * (Install routes ask the database themselves; this keeps `/me` and the menus true.)
 */
async function forgetCachedSessions(services: Services, userId: string): Promise<void> {
  const families = await services.db
    .select({ id: refreshTokenFamilies.id })
    .from(refreshTokenFamilies)
    .where(and(eq(refreshTokenFamilies.userId, userId), isNull(refreshTokenFamilies.revokedAt)));
  const redis = services.redis();
  for (const f of families) {
    const key = sessionCacheKey(services, f.id);
    await redis.eval(FORGET_UNLESS_REVOKED, 1, key, REVOKED_MARKER);
    services.reads.forget([key]);
  }
}
