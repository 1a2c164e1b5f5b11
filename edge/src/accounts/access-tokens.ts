import { ACCESS_TOKEN_PREFIX, ACCESS_TOKEN_SHOWN_CHARS, type AccessToken } from '@keel/contract/account';
import { Role, type Role as RoleT } from '@keel/contract/auth';
import { type Permission, ROLE_PERMISSIONS } from '@keel/contract/permissions';
import { memberships, personalAccessTokens, users } from '@keel/drizzle/schema';
import { and, desc, eq, gt, isNull } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../auth/bytes.ts';
import { REVOKED_MARKER, REVOKED_MARKER_SECONDS } from '../auth/sessions.ts';
import { ApiError } from '../http/api-error.ts';
import { newId } from '../ids.ts';
import { sessionCacheKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';

type Row = typeof personalAccessTokens.$inferSelect;

/** A token's confirmation in Redis, by the SHA-256 of the token (the token itself is never stored). */
export function accessTokenCacheKey(services: Services, tokenHash: string): string {
  return `${services.config.redisPrefix}pat:${tokenHash}`;
}

/** How long a confirmed token is trusted from Redis; also how often its last use is written. */
const TOKEN_CACHE_SECONDS = 60;

export function accessTokenView(row: Row, now: Date): AccessToken {
  const expiresAt = row.expiresAt ?? new Date(8.64e15);
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    permissions: row.permissions as Permission[],
    createdAt: row.createdAt.toISOString(),
    expiresAt: expiresAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    lastUsedAddress: row.lastUsedAddress ?? null,
    expired: expiresAt <= now,
  };
}

/** Makes a token whose scopes are within the owner's role now; the token is returned this once. */
export async function createAccessToken(
  services: Services,
  owner: { userId: string; organizationId: string; role: RoleT },
  input: { name: string; permissions: readonly Permission[]; expiresInDays: number },
): Promise<{ token: string; row: Row }> {
  const allowed = ROLE_PERMISSIONS[owner.role];
  const beyond = input.permissions.filter((p) => !allowed.has(p));
  if (beyond.length > 0)
    throw new ApiError('forbidden', `Your role does not hold ${beyond.join(', ')}; a token cannot either`);
  const now = services.clock.now();
  // 256 random bits after a prefix that says what it is (secret scanners look for it).
  const token = randomToken(ACCESS_TOKEN_PREFIX.slice(0, -1), 32);
  const [row] = await services.db
    .insert(personalAccessTokens)
    .values({
      id: newId('accessToken'),
      userId: owner.userId,
      organizationId: owner.organizationId,
      name: input.name,
      tokenHash: sha256Hex(token),
      prefix: token.slice(0, ACCESS_TOKEN_SHOWN_CHARS),
      permissions: [...input.permissions],
      expiresAt: new Date(now.getTime() + input.expiresInDays * 86_400_000),
      createdAt: now,
    })
    .returning();
  return { token, row: row! };
}

/** The owner's tokens in this organization that are not revoked (expired ones too, marked). */
export async function listAccessTokens(services: Services, userId: string, organizationId: string) {
  return services.db
    .select()
    .from(personalAccessTokens)
    .where(
      and(
        eq(personalAccessTokens.userId, userId),
        eq(personalAccessTokens.organizationId, organizationId),
        isNull(personalAccessTokens.revokedAt),
      ),
    )
    .orderBy(desc(personalAccessTokens.createdAt));
}

/** Revokes one of the owner's tokens; false when it is not theirs (or already revoked). */
export async function revokeAccessToken(
  services: Services,
  owner: { userId: string; organizationId: string },
  tokenId: string,
): Promise<boolean> {
  const revoked = await services.db
    .update(personalAccessTokens)
    .set({ revokedAt: services.clock.now() })
    .where(
      and(
        eq(personalAccessTokens.id, tokenId),
        eq(personalAccessTokens.userId, owner.userId),
        eq(personalAccessTokens.organizationId, owner.organizationId),
        isNull(personalAccessTokens.revokedAt),
      ),
    )
    .returning({ id: personalAccessTokens.id, tokenHash: personalAccessTokens.tokenHash });
  await markAccessTokensRevoked(services, revoked);
  return revoked.length > 0;
}

/**
 * After the database: a marker where the confirmation was cached (a request that read the old
 * row cannot cache it over the marker, see the NX below), and on the token's id under the
 * sessions' keys, which open terminals watch.
 */
export async function markAccessTokensRevoked(
  services: Services,
  rows: readonly { id: string; tokenHash: string }[],
): Promise<void> {
  if (rows.length === 0) return;
  await services.commands.transaction(
    rows.flatMap((r) => [
      ['SET', accessTokenCacheKey(services, r.tokenHash), REVOKED_MARKER, 'EX', REVOKED_MARKER_SECONDS],
      ['SET', sessionCacheKey(services, r.id), REVOKED_MARKER, 'EX', REVOKED_MARKER_SECONDS],
    ]),
  );
  services.reads.forget(rows.map((r) => sessionCacheKey(services, r.id)));
}

/**
 * Drops the cached confirmations of a person's tokens, so a changed role, a disabled account or
 * membership, or a password reset acts on them at the next request. Whoever changes those calls it
 * (members, password reset). The tokens stay valid otherwise: they are checked again in the database.
 */
export async function forgetAccessTokens(services: Services, userId: string): Promise<void> {
  const rows = await services.db
    .select({ tokenHash: personalAccessTokens.tokenHash })
    .from(personalAccessTokens)
    .where(and(eq(personalAccessTokens.userId, userId), isNull(personalAccessTokens.revokedAt)));
  if (rows.length === 0) return;
  await services.commands.send(['DEL', ...rows.map((r) => accessTokenCacheKey(services, r.tokenHash))]);
}

/** Revokes every token of a person (removal from an organization, disabling). */
export async function revokeAllAccessTokens(
  services: Services,
  userId: string,
  organizationId?: string,
): Promise<number> {
  const revoked = await services.db
    .update(personalAccessTokens)
    .set({ revokedAt: services.clock.now() })
    .where(
      and(
        eq(personalAccessTokens.userId, userId),
        organizationId ? eq(personalAccessTokens.organizationId, organizationId) : undefined,
        isNull(personalAccessTokens.revokedAt),
      ),
    )
    .returning({ id: personalAccessTokens.id, tokenHash: personalAccessTokens.tokenHash });
  await markAccessTokensRevoked(services, revoked);
  return revoked.length;
}

export function looksLikeAccessToken(token: string): boolean {
  return token.startsWith(ACCESS_TOKEN_PREFIX);
}

export interface ConfirmedAccessToken {
  tokenId: string;
  userId: string;
  organizationId: string;
  role: RoleT;
  installAdmin: boolean;
  permissions: ReadonlySet<Permission>;
}

/**
 * The token's owner and scopes, if the token, its owner and the owner's membership all stand
 * (not revoked or expired, not disabled, no password change pending). Confirmations are cached
 * like sessions' (sealed, with the second they lapse, never past the token's expiry); a cache miss
 * also records the token's last use, so that is written at most once a minute per token.
 */
export async function confirmAccessToken(
  services: Services,
  token: string,
  address: string | undefined,
): Promise<ConfirmedAccessToken | undefined> {
  const tokenHash = sha256Hex(token);
  const key = accessTokenCacheKey(services, tokenHash);
  const now = services.clock.now();
  const cached = await services.commands.send<string | null>(['GET', key]);
  if (cached === REVOKED_MARKER) return undefined;
  const value = await services.cacheSeal.open(key, cached);
  if (value) {
    const [tokenId, userId, orgId, role, installAdmin, scopes, until] = value.split(' ');
    const known = Role.safeParse(role);
    if (Number(until) * 1000 > now.getTime() && known.success && tokenId && userId && orgId)
      return {
        tokenId,
        userId,
        organizationId: orgId,
        role: known.data,
        installAdmin: installAdmin === 'install_admin',
        permissions: new Set((scopes ?? '').split(',').filter(Boolean) as Permission[]),
      };
  }
  const [row] = await services.db
    .select({
      token: personalAccessTokens,
      role: memberships.role,
      installAdmin: users.installAdmin,
    })
    .from(personalAccessTokens)
    .innerJoin(
      users,
      and(
        eq(users.id, personalAccessTokens.userId),
        isNull(users.disabledAt),
        eq(users.mustChangePassword, false),
      ),
    )
    .innerJoin(
      memberships,
      and(
        eq(memberships.userId, personalAccessTokens.userId),
        eq(memberships.organizationId, personalAccessTokens.organizationId),
        isNull(memberships.disabledAt),
      ),
    )
    .where(
      and(
        eq(personalAccessTokens.tokenHash, tokenHash),
        isNull(personalAccessTokens.revokedAt),
        gt(personalAccessTokens.expiresAt, now),
      ),
    )
    .limit(1);
  if (!row) return undefined;
  const t = row.token;
  // Scopes the role no longer holds are dropped here as well as by principalPermits.
  const scopes = (t.permissions as Permission[]).filter((p) => ROLE_PERMISSIONS[row.role].has(p));
  const expiresAt = t.expiresAt!.getTime();
  const until = Math.floor(Math.min(now.getTime() + TOKEN_CACHE_SECONDS * 1000, expiresAt) / 1000);
  const entry = await services.cacheSeal.seal(
    key,
    [
      t.id,
      t.userId,
      t.organizationId,
      row.role,
      row.installAdmin ? 'install_admin' : '-',
      scopes.join(','),
      until,
    ].join(' '),
  );
  const ttl = Math.max(1, until - Math.floor(now.getTime() / 1000));
  // NX: never overwrite a revocation that landed while the database was being read.
  await Promise.all([
    services.commands.send(['SET', key, entry, 'EX', ttl, 'NX']),
    services.db
      .update(personalAccessTokens)
      .set({ lastUsedAt: now, lastUsedAddress: address?.slice(0, 100) ?? null })
      .where(eq(personalAccessTokens.id, t.id)),
  ]);
  return {
    tokenId: t.id,
    userId: t.userId,
    organizationId: t.organizationId,
    role: row.role,
    installAdmin: row.installAdmin,
    permissions: new Set(scopes),
  };
}
