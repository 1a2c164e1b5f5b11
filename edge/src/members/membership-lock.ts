import type { Role } from '@keel/contract/auth';
import { memberships } from '@keel/drizzle/schema';
import { and, asc, eq, isNull, or } from 'drizzle-orm';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services.ts';

export type Tx = Parameters<Parameters<Services['db']['transaction']>[0]>[0];

export interface LockedMembership {
  role: Role;
  disabledAt: Date | null;
  /** Enabled super_admins of the organization, the target included when it is one. */
  superAdmins: number;
}

/**
 * Locks the target's membership together with every enabled super_admin's, in one statement in
 * a fixed order (so two changes at once cannot deadlock), and counts the super_admins that
 * remain. A concurrent change that waited on one of these rows sees it as committed: a row
 * demoted meanwhile no longer matches, so two demotions at once cannot both see two.
 */
export async function lockMembership(
  tx: Tx,
  organizationId: string,
  userId: string,
): Promise<LockedMembership> {
  const rows = await tx
    .select({ userId: memberships.userId, role: memberships.role, disabledAt: memberships.disabledAt })
    .from(memberships)
    .where(
      and(
        eq(memberships.organizationId, organizationId),
        or(
          eq(memberships.userId, userId),
          and(eq(memberships.role, 'super_admin'), isNull(memberships.disabledAt)),
        ),
      ),
    )
    .orderBy(asc(memberships.userId))
    .for('update');
  const target = rows.find((r) => r.userId === userId);
  if (!target) throw new ApiError('not_found', 'No such member');
  return {
    role: target.role,
    disabledAt: target.disabledAt,
    superAdmins: rows.filter((r) => r.role === 'super_admin' && r.disabledAt === null).length,
  };
}

/** The last enabled super_admin keeps the organization's sign-in settings and admins in someone's hands. */
export function assertNotLastSuperAdmin(locked: LockedMembership, what: string): void {
  if (locked.role === 'super_admin' && locked.disabledAt === null && locked.superAdmins <= 1) {
    throw new ApiError(
      'conflict',
      `This is the organization's last super_admin: they cannot be ${what}. Make someone else super_admin first.`,
    );
  }
}

/**
 * 404 unless `userId` is a member of the organization: checked before a request's body, so
 * another organization's id is answered as absent whatever the body says.
 */
export async function assertMember(
  db: Tx | Services['db'],
  organizationId: string,
  userId: string,
): Promise<void> {
  const [row] = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)))
    .limit(1);
  if (!row) throw new ApiError('not_found', 'No such member');
}
