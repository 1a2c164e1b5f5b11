import type { Role, SignupRequest } from '@keel/contract/auth';
import { invitations, memberships, organizations, users } from '@keel/drizzle/schema';
import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import { sha256Hex } from '../auth/bytes.ts';
import { hashPassword } from '../auth/password.ts';
import { ApiError } from '../http/api-error.ts';
import { newId } from '../ids.ts';
import type { Services } from '../services.ts';

/** Any fixed number: every signup takes it, so "first account" is decided once. */
const SIGNUP_LOCK_ID = 7_204_113_509;

export interface SignupResult {
  user: typeof users.$inferSelect;
  organization: typeof organizations.$inferSelect;
  role: Role;
  via: 'first-account' | 'invitation' | 'open-signup';
}

/**
 * Creates an account. The first account on an empty install founds the organization as
 * its super_admin and the install as its first install administrator; later ones need an invitation, or open signup switched on. All of it
 * happens in one transaction: a failure leaves no user, membership or spent invitation.
 */
export async function signup(services: Services, input: SignupRequest): Promise<SignupResult> {
  const { db, clock, config } = services;
  // Hash before the transaction: argon2 takes a while and must not hold the lock.
  const passwordHash = await hashPassword(input.password);
  const inviteHash = input.inviteToken ? sha256Hex(input.inviteToken) : undefined;
  const now = clock.now();

  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${SIGNUP_LOCK_ID})`);

    const [taken] = await tx
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, input.email))
      .limit(1);
    if (taken)
      throw new ApiError(
        'email_taken',
        inviteHash
          ? 'An account with this e-mail already exists: sign in with it to accept the invitation'
          : 'An account with this e-mail already exists; sign in instead',
      );

    let organization: typeof organizations.$inferSelect;
    let role: Role;
    let via: SignupResult['via'];
    let invitationId: string | undefined;

    if (inviteHash) {
      const { inv, org } = await openInvitation(tx, inviteHash, input.email, now);
      organization = org;
      role = inv.role;
      via = 'invitation';
      invitationId = inv.id;
    } else {
      const [anyUser] = await tx.select({ id: users.id }).from(users).limit(1);
      if (!anyUser) {
        const [org] = await tx
          .insert(organizations)
          .values({
            id: newId('organization'),
            name: input.organization ?? `${input.name}'s organization`,
            createdAt: now,
          })
          .returning();
        organization = org!;
        role = 'super_admin';
        via = 'first-account';
      } else if (config.openSignup && domainAllowed(input.email, config.openSignupDomains)) {
        const [org] = await tx.select().from(organizations).orderBy(asc(organizations.createdAt)).limit(1);
        if (!org) throw new ApiError('invitation_required', 'Ask an admin for an invitation');
        organization = org;
        role = 'developer';
        via = 'open-signup';
      } else {
        throw new ApiError(
          'invitation_required',
          'This Keel already has an organization: ask one of its admins for an invitation',
        );
      }
    }

    const [user] = await tx
      .insert(users)
      .values({
        id: newId('user'),
        email: input.email,
        name: input.name,
        passwordHash,
        installAdmin: via === 'first-account',
        createdAt: now,
      })
      .returning();
    await tx
      .insert(memberships)
      .values({ userId: user!.id, organizationId: organization.id, role, createdAt: now });
    if (invitationId) {
      await tx
        .update(invitations)
        .set({ acceptedAt: now, acceptedBy: user!.id })
        .where(eq(invitations.id, invitationId));
    }
    return { user: user!, organization, role, via };
  });
}

function domainAllowed(email: string, domains: string[]): boolean {
  if (domains.length === 0) return true;
  const domain = email.slice(email.lastIndexOf('@') + 1);
  return domains.includes(domain);
}

type Tx = Parameters<Parameters<Services['db']['transaction']>[0]>[0];

/** An invitation that may be accepted now by `email`, and its organization; refused otherwise. */
export async function openInvitation(tx: Tx, inviteHash: string, email: string, now: Date) {
  const [inv] = await tx
    .select()
    .from(invitations)
    .where(
      and(
        eq(invitations.tokenHash, inviteHash),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
        gt(invitations.expiresAt, now),
      ),
    )
    .limit(1)
    .for('update');
  if (!inv) throw new ApiError('invitation_invalid', 'This invitation is invalid, used or expired');
  if (inv.email && inv.email !== email) {
    throw new ApiError('invitation_invalid', 'This invitation was made for another e-mail address');
  }
  const [org] = await tx.select().from(organizations).where(eq(organizations.id, inv.organizationId));
  if (!org) throw new ApiError('invitation_invalid', 'This invitation is invalid, used or expired');
  return { inv, org };
}
