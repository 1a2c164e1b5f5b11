import { personalAccessTokens, refreshTokenFamilies } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import { forgetAccessTokens, markAccessTokensRevoked } from '../accounts/access-tokens.ts';
import { markSessions } from '../middleware/authenticate.ts';
import type { Services } from '../services.ts';
import type { Tx } from './membership-lock.ts';

/** What ended inside the transaction, for the cache once it has committed. */
export interface EndedAccess {
  sessionIds: string[];
  tokens: { id: string; tokenHash: string }[];
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
    .returning({ id: personalAccessTokens.id, tokenHash: personalAccessTokens.tokenHash });
  return { sessionIds: sessions.map((s) => s.id), tokens };
}

/**
 * After the commit: the cached confirmations of those sessions and personal access tokens are
 * replaced by the revoked marker, so a session's access token, or a personal token confirmed a
 * moment ago, stops on its next request.
 */
export async function forgetEndedAccess(services: Services, ended: EndedAccess): Promise<void> {
  await Promise.all([
    markSessions(services, ended.sessionIds, 'revoked'),
    markAccessTokensRevoked(services, ended.tokens),
  ]);
}

/**
 * Ends a person's access to an organization on its own (a directory that disabled or removed
 * them): sessions and personal access tokens, in one transaction, then their cached confirmations.
 */
export async function endAccess(
  services: Services,
  userId: string,
  organizationId: string,
  reason: string,
): Promise<EndedAccess> {
  const now = services.clock.now();
  const ended = await services.db.transaction((tx) => endAccessInTx(tx, now, userId, organizationId, reason));
  await forgetEndedAccess(services, ended);
  return ended;
}

/**
 * A role changed: the person's open sessions in the organization, and their personal access
 * tokens (whose scopes are cut to the role), read it on their next request.
 */
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
  await Promise.all([
    markSessions(
      services,
      open.map((s) => s.id),
      'recheck',
    ),
    forgetAccessTokens(services, userId),
  ]);
}
