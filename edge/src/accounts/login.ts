import { memberships, organizations, users } from '@keel/drizzle/schema';
import { asc, eq } from 'drizzle-orm';
import { DECOY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from '../auth/password.ts';
import type { Services } from '../services.ts';

export interface PasswordLogin {
  user: typeof users.$inferSelect;
  organizationId: string;
  role: (typeof memberships.$inferSelect)['role'];
}

/**
 * Checks a password. An unknown e-mail, a disabled account and a wrong password take the
 * same path and the same argon2 work, so neither the answer nor its timing tells them apart.
 */
export async function checkPassword(
  services: Services,
  email: string,
  password: string,
): Promise<PasswordLogin | undefined> {
  const { db } = services;
  const [row] = await db
    .select({ user: users, membership: memberships })
    .from(users)
    .leftJoin(memberships, eq(memberships.userId, users.id))
    .leftJoin(organizations, eq(organizations.id, memberships.organizationId))
    .where(eq(users.email, email))
    .orderBy(asc(memberships.createdAt))
    .limit(1);
  const ok = await verifyPassword(password, row?.user.passwordHash ?? DECOY_PASSWORD_HASH);
  // An account without a password (single sign-on, directory) never signs in by password.
  if (!ok || !row?.user.passwordHash || row.user.disabledAt || !row.membership) return undefined;
  if (row.membership.disabledAt) return undefined;
  if (needsRehash(row.user.passwordHash)) {
    await db
      .update(users)
      .set({ passwordHash: await hashPassword(password) })
      .where(eq(users.id, row.user.id));
  }
  return { user: row.user, organizationId: row.membership.organizationId, role: row.membership.role };
}
