import { refreshTokenFamilies, refreshTokens } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import { newId } from '../ids.ts';
import { sessionCacheKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';
import { randomToken, sha256Hex } from './bytes.ts';

/**
 * Outlives any confirmation cached by middleware/authenticate.ts, so a revoked session is never
 * served from the cache. It is not sealed: it only ever denies, and a missing one sends the check
 * to the database.
 */
export const REVOKED_MARKER = 'revoked';
export const REVOKED_MARKER_SECONDS = 3600;

export interface IssuedSession {
  sessionId: string;
  refreshToken: string;
  refreshTtl: number;
  csrfToken: string;
}

/** Where a session is used from, for the person's list of their sessions. */
export interface SessionClient {
  userAgent?: string | undefined;
  address?: string | undefined;
}

const USER_AGENT_MAX = 300;
const ADDRESS_MAX = 100;

function clientColumns(client: SessionClient) {
  return {
    userAgent: client.userAgent ? client.userAgent.slice(0, USER_AGENT_MAX) : null,
    address: client.address ? client.address.slice(0, ADDRESS_MAX) : null,
  };
}

/** Opens a sign-in session: a refresh-token family with its first token. */
export async function openSession(
  services: Services,
  userId: string,
  organizationId: string,
  client: SessionClient = {},
): Promise<IssuedSession> {
  const { db, clock, config } = services;
  const now = clock.now();
  const familyId = newId('tokenFamily');
  const refreshToken = randomToken('rt');
  await db.transaction(async (tx) => {
    await tx.insert(refreshTokenFamilies).values({
      id: familyId,
      userId,
      organizationId,
      generation: 0,
      expiresAt: new Date(now.getTime() + config.refreshTokenTtlSeconds * 1000),
      lastUsedAt: now,
      ...clientColumns(client),
      createdAt: now,
    });
    await tx.insert(refreshTokens).values({
      tokenHash: sha256Hex(refreshToken),
      familyId,
      generation: 0,
      createdAt: now,
    });
  });
  return {
    sessionId: familyId,
    refreshToken,
    refreshTtl: config.refreshTokenTtlSeconds,
    csrfToken: randomToken('csrf', 24),
  };
}

export type RotateResult =
  | { kind: 'rotated'; session: IssuedSession; userId: string; organizationId: string }
  | { kind: 'invalid' }
  | { kind: 'reused'; sessionId: string; userId: string; organizationId: string };

/**
 * Exchanges a refresh token for the next one. A token that was already exchanged means a
 * copy is in someone else's hands: the whole family is revoked and both holders must sign
 * in again. The conditional update makes two concurrent uses of one token count as reuse.
 */
export async function rotateSession(
  services: Services,
  presented: string,
  client: SessionClient = {},
): Promise<RotateResult> {
  const { db, clock, config } = services;
  const now = clock.now();
  const hash = sha256Hex(presented);
  const [found] = await db
    .select({ token: refreshTokens, family: refreshTokenFamilies })
    .from(refreshTokens)
    .innerJoin(refreshTokenFamilies, eq(refreshTokenFamilies.id, refreshTokens.familyId))
    .where(eq(refreshTokens.tokenHash, hash))
    .limit(1);
  if (!found) return { kind: 'invalid' };
  const { token, family } = found;
  if (family.revokedAt || family.expiresAt <= now) return { kind: 'invalid' };

  const next = randomToken('rt');
  const outcome = await db.transaction(async (tx) => {
    const claimed = await tx
      .update(refreshTokens)
      .set({ rotatedAt: now })
      .where(and(eq(refreshTokens.tokenHash, hash), isNull(refreshTokens.rotatedAt)))
      .returning({ tokenHash: refreshTokens.tokenHash });
    if (claimed.length === 0) return 'reused' as const;
    await tx.insert(refreshTokens).values({
      tokenHash: sha256Hex(next),
      familyId: family.id,
      generation: token.generation + 1,
      createdAt: now,
    });
    await tx
      .update(refreshTokenFamilies)
      .set({
        generation: token.generation + 1,
        lastUsedAt: now,
        // The address moves with the person (a laptop changes networks); the device does not.
        ...(client.address ? { address: clientColumns(client).address } : {}),
      })
      .where(eq(refreshTokenFamilies.id, family.id));
    return 'rotated' as const;
  });

  if (outcome === 'reused') {
    await revokeSession(services, family.id, 'refresh token reuse');
    return {
      kind: 'reused',
      sessionId: family.id,
      userId: family.userId,
      organizationId: family.organizationId,
    };
  }
  const remaining = Math.max(60, Math.floor((family.expiresAt.getTime() - now.getTime()) / 1000));
  return {
    kind: 'rotated',
    userId: family.userId,
    organizationId: family.organizationId,
    session: {
      sessionId: family.id,
      refreshToken: next,
      refreshTtl: Math.min(remaining, config.refreshTokenTtlSeconds),
      csrfToken: randomToken('csrf', 24),
    },
  };
}

export async function revokeSession(services: Services, sessionId: string, reason: string): Promise<void> {
  await services.db
    .update(refreshTokenFamilies)
    .set({ revokedAt: services.clock.now(), revokedReason: reason })
    .where(and(eq(refreshTokenFamilies.id, sessionId), isNull(refreshTokenFamilies.revokedAt)));
  // After the database: a request that read the old row cannot cache it over this marker.
  const key = sessionCacheKey(services, sessionId);
  await services.commands.send(['SET', key, REVOKED_MARKER, 'EX', REVOKED_MARKER_SECONDS]);
  services.reads.forget([key]);
}

/** Finds the session a refresh token belongs to (for logout by refresh cookie). */
export async function sessionOfRefreshToken(
  services: Services,
  presented: string,
): Promise<string | undefined> {
  const [row] = await services.db
    .select({ familyId: refreshTokens.familyId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, sha256Hex(presented)))
    .limit(1);
  return row?.familyId;
}
