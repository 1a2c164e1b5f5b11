import { roleRank } from '@keel/contract/auth';
import { memberships, users } from '@keel/drizzle/schema';
import { and, eq, ne } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../auth/bytes.ts';
import { DECOY_PASSWORD_HASH, hashPassword, verifyPassword } from '../auth/password.ts';
import { ApiError } from '../http/api-error.ts';
import { signInRateKeys } from '../redis-keys.ts';
import { hitRateLimit } from '../services/rate-limit.ts';
import type { Services } from '../services.ts';
import { forgetAccessTokens } from './access-tokens.ts';
import { endAccountSessions } from './account-sessions.ts';

/**
 * Changes a person's own password. The current one is required (a session left open on a shared
 * machine must not be enough to lock its owner out), tries count against the account like sign-in
 * attempts, and the person's other sessions end.
 */
export async function changeOwnPassword(
  services: Services,
  caller: { userId: string; sessionId: string },
  currentPassword: string,
  newPassword: string,
): Promise<void> {
  const [user] = await services.db.select().from(users).where(eq(users.id, caller.userId)).limit(1);
  if (!user) throw new ApiError('invalid_token', 'Session has ended; sign in again');
  const keys = signInRateKeys(services, '-', sha256Hex(user.email));
  const rate = await hitRateLimit(
    services.commands,
    keys.byAccount,
    services.config.loginRateLimitPerMinute,
    60,
  );
  if (!rate.allowed)
    throw new ApiError('rate_limited', `Too many attempts; try again in ${rate.retryAfterSeconds} s`);
  const ok = await verifyPassword(currentPassword, user.passwordHash ?? DECOY_PASSWORD_HASH);
  if (!ok || !user.passwordHash)
    throw new ApiError('invalid_credentials', 'The current password is incorrect');
  await services.db
    .update(users)
    .set({ passwordHash: await hashPassword(newPassword), mustChangePassword: false })
    .where(eq(users.id, user.id));
  await endAccountSessions(services, { userId: user.id }, caller.sessionId, 'password changed');
}

/** How long an admin's reset link may wait to be used. */
const RESET_TTL_SECONDS = 24 * 3600;

function resetTokenKey(services: Services, tokenHash: string): string {
  return `${services.config.redisPrefix}pwreset:${tokenHash}`;
}
/** The person's latest reset: an older link stops working when a newer one is made. */
function resetLatestKey(services: Services, userId: string): string {
  return `${services.config.redisPrefix}pwreset-user:${userId}`;
}

/**
 * An admin's reset of a member's password: the person's sessions end, their tokens stop, they can
 * no longer sign in with the old password (`password_change_required`), and the one-time link
 * returned here is the only way back. Never someone the caller could not otherwise manage: a role
 * above the caller's, an install administrator, or a person who also belongs to another
 * organization (the link would reach into it).
 */
export async function adminResetPassword(
  services: Services,
  admin: { userId: string; organizationId: string; role: keyof typeof roleRank },
  targetUserId: string,
): Promise<{ token: string; expiresAt: Date }> {
  const [target] = await services.db
    .select({ user: users, role: memberships.role })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.userId, targetUserId), eq(memberships.organizationId, admin.organizationId)))
    .limit(1);
  if (!target) throw new ApiError('not_found', 'No such member');
  if (target.user.id === admin.userId)
    throw new ApiError('conflict', 'Change your own password on the Password page');
  if (roleRank[target.role] > roleRank[admin.role])
    throw new ApiError('forbidden', 'Only a super_admin may reset the password of a super_admin');
  const [elsewhere] = await services.db
    .select({ org: memberships.organizationId })
    .from(memberships)
    .where(and(eq(memberships.userId, targetUserId), ne(memberships.organizationId, admin.organizationId)))
    .limit(1);
  if (target.user.installAdmin || elsewhere)
    throw new ApiError(
      'forbidden',
      'This person’s account reaches beyond this organization; they must change it themselves',
    );

  const token = randomToken('keel_reset', 32);
  const tokenHash = sha256Hex(token);
  const now = services.clock.now();
  const expiresAt = new Date(now.getTime() + RESET_TTL_SECONDS * 1000);
  await services.db.update(users).set({ mustChangePassword: true }).where(eq(users.id, targetUserId));
  const key = resetTokenKey(services, tokenHash);
  const sealed = await services.cacheSeal.seal(
    key,
    `${targetUserId} ${Math.floor(expiresAt.getTime() / 1000)}`,
  );
  await services
    .redis()
    .multi()
    .set(key, sealed, 'EX', RESET_TTL_SECONDS)
    .set(resetLatestKey(services, targetUserId), tokenHash, 'EX', RESET_TTL_SECONDS)
    .exec();
  await endAccountSessions(services, { userId: targetUserId }, undefined, 'password reset by an admin');
  await forgetAccessTokens(services, targetUserId);
  return { token, expiresAt };
}

/** Redeems a reset link once: the new password is set and sign-in works again. Returns whose it was. */
export async function redeemPasswordReset(
  services: Services,
  token: string,
  newPassword: string,
): Promise<string> {
  const tokenHash = sha256Hex(token);
  const key = resetTokenKey(services, tokenHash);
  // GETDEL: two racing redemptions of one link cannot both pass.
  const sealed = await services.redis().getdel(key);
  const value = await services.cacheSeal.open(key, sealed);
  const [userId, until] = value?.split(' ') ?? [];
  const fresh = Number(until) * 1000 > services.clock.now().getTime();
  const latest = userId ? await services.redis().get(resetLatestKey(services, userId)) : null;
  if (!userId || !fresh || latest !== tokenHash)
    throw new ApiError(
      'invalid_token',
      'This reset link is invalid, used or expired; ask an admin for a new one',
    );
  const updated = await services.db
    .update(users)
    .set({ passwordHash: await hashPassword(newPassword), mustChangePassword: false })
    .where(and(eq(users.id, userId), eq(users.mustChangePassword, true)))
    .returning({ id: users.id });
  await services.redis().del(resetLatestKey(services, userId));
  if (updated.length === 0) throw new ApiError('invalid_token', 'This reset link is no longer valid');
  return userId;
}
