import { personalAccessTokens, refreshTokenFamilies } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import { markSessions } from '../middleware/authenticate.ts';
import type { Services } from '../services.ts';
import type { Tx } from './membership-lock.ts';

/** What ended inside the transaction, for the cache once it has committed. */
export interface EndedAccess {
  sessionIds: string[];
  tokenIds: string[];
}

/**
 * Revokes a person's sessions (refresh-token families) and personal access tokens in one
 * organization, inside the caller's transaction, so they end with the membership change.
 */
export async function endAccessInTx(
  tx: Tx,
  now: Date,
  userId: string,
  organizationId: string,
  reason: string,
): Promise<EndedAccess> {
  const sessions = await tx
    .update(refreshTokenFamilies)
    .set({ revokedAt: now, revokedReason: reason })
    .where(
      and(
        eq(refreshTokenFamilies.userId, userId),
        eq(refreshTokenFamilies.organizationId, organizationId),
        isNull(refreshTokenFamilies.revokedAt),
      ),
    )
    .returning({ id: refreshTokenFamilies.id });
  const tokens = await tx
    .update(personalAccessTokens)
    .set({ revokedAt: now })
    .where(
      and(
        eq(personalAccessTokens.userId, userId),
        eq(personalAccessTokens.organizationId, organizationId),
        isNull(personalAccessTokens.revokedAt),
      ),
    )
    .returning({ id: personalAccessTokens.id });
  return { sessionIds: sessions.map((s) => s.id), tokenIds: tokens.map((t) => t.id) };
}

/**
 * After the commit: the cached confirmations of those sessions are replaced by the revoked
 * marker, so an access token already issued stops on its next request. Token ids are marked
 * as well, for a check that caches an access token's confirmation under its id.
 */
export async function forgetEndedAccess(services: Services, ended: EndedAccess): Promise<void> {
  await markSessions(services, [...ended.sessionIds, ...ended.tokenIds], 'revoked');
}

/** A role changed: the person's open sessions in the organization read it on their next request. */
export async function recheckOpenSessions(
  services: Services,
  userId: string,
  organizationId: string,
): Promise<void> {
  const open = await services.db
    .select({ id: refreshTokenFamilies.id })
    .from(refreshTokenFamilies)
    .where(
      and(
        eq(refreshTokenFamilies.userId, userId),
        eq(refreshTokenFamilies.organizationId, organizationId),
        isNull(refreshTokenFamilies.revokedAt),
      ),
    );
  await markSessions(
    services,
    open.map((s) => s.id),
    'recheck',
  );
}
