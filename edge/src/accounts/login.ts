import { invitations, memberships, organizations, users } from '@keel/drizzle/schema';
import { and, asc, eq } from 'drizzle-orm';
import { sha256Hex } from '../auth/bytes.ts';
import { DECOY_PASSWORD_HASH, hashPassword, needsRehash, verifyPassword } from '../auth/password.ts';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services.ts';
import { openInvitation } from './signup.ts';

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

/**
 * Sign-in that accepts an invitation: for someone who already has an account (removed from the
 * organization and invited back, or a member of another one). The password is checked first,
 * with the same work as any sign-in, so the invitation's state tells nothing to someone without
 * it; then, in one transaction, the invitation is spent and the membership made.
 */
export async function checkPasswordAndAccept(
  services: Services,
  email: string,
  password: string,
  inviteToken: string,
): Promise<PasswordLogin | undefined> {
  const { db, clock } = services;
  const [user] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  const ok = await verifyPassword(password, user?.passwordHash ?? DECOY_PASSWORD_HASH);
  if (!ok || !user?.passwordHash || user.disabledAt) return undefined;
  const now = clock.now();
  return db.transaction(async (tx) => {
    const { inv, org } = await openInvitation(tx, sha256Hex(inviteToken), email, now);
    const [member] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.userId, user.id), eq(memberships.organizationId, org.id)))
      .limit(1);
    if (member) {
      throw new ApiError(
        'invitation_invalid',
        'You are already a member of this organization: sign in without the invitation',
      );
    }
    await tx
      .insert(memberships)
      .values({ userId: user.id, organizationId: org.id, role: inv.role, createdAt: now });
    await tx
      .update(invitations)
      .set({ acceptedAt: now, acceptedBy: user.id })
      .where(eq(invitations.id, inv.id));
    return { user, organizationId: org.id, role: inv.role };
  });
}
