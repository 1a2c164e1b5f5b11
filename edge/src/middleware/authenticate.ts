import { AUTH_COOKIES, Role } from '@keel/contract/auth';
import type { Permission } from '@keel/contract/permissions';
import { memberships, refreshTokenFamilies, users } from '@keel/drizzle/schema';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { confirmAccessToken, looksLikeAccessToken } from '../accounts/access-tokens.ts';
import type { AppEnv, Principal } from '../app-env.ts';
import { assertCsrf } from '../auth/csrf.ts';
import { REVOKED_MARKER, REVOKED_MARKER_SECONDS } from '../auth/sessions.ts';
import { ApiError } from '../http/api-error.ts';
import { sessionCacheKey, signInRateKeys } from '../redis-keys.ts';
import { hitRateLimit } from '../services/rate-limit.ts';
import type { Services } from '../services.ts';

/**
 * Requires a valid access token (Bearer header, or the session cookie plus CSRF proof),
 * then confirms in the database that the user, membership and session still stand, so a
 * revoked session or a removed member is cut off at once, not when the token expires.
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    // Several route groups share the /api/workspaces mount, and each one's middleware runs
    // for every request under it: the first check stands for the whole request.
    if (c.get('principal')) return next();
    await confirmSession(c, await verifyCaller(c));
    await next();
  };
}

/** A caller whose access token is valid; whether its session still stands is not yet known. */
export interface VerifiedCaller {
  userId: string;
  organizationId: string;
  sessionId: string;
  via: Principal['via'];
  /** Set when the caller presented a personal access token, already confirmed (sessionId is its id). */
  accessToken?: { role: Role; installAdmin: boolean; permissions: ReadonlySet<Permission> };
}

/** The first half of `authenticate`: the token's signature and expiry, and CSRF proof for a cookie. */
export async function verifyCaller(c: Context<AppEnv>): Promise<VerifiedCaller> {
  const services = c.get('services');
  const header = c.req.header('authorization');
  let token: string | undefined;
  let via: Principal['via'] = 'bearer';
  if (header !== undefined) {
    // The scheme is case-insensitive (RFC 9110, 11.1); the token is not.
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    if (!m) throw new ApiError('invalid_token', 'Authorization header must be "Bearer <token>"');
    token = m[1];
  } else {
    token = getCookie(c, AUTH_COOKIES.access);
    via = 'cookie';
  }
  if (!token) throw new ApiError('unauthorized', 'Sign in first');
  if (via === 'bearer' && looksLikeAccessToken(token)) return verifyAccessToken(c, token);

  let claims: Awaited<ReturnType<typeof services.keys.verify>>;
  try {
    claims = await services.keys.verify(token);
  } catch {
    throw new ApiError('invalid_token', 'Access token is invalid or expired');
  }
  if (via === 'cookie') assertCsrf(c);
  return { userId: claims.sub, organizationId: claims.org, sessionId: claims.sid, via };
}

/**
 * The second half: the session, user and membership still stand. Sets the principal, and
 * returns the session's entry in Redis as it now reads, for callers that check later that
 * nothing changed since (see ai/warm-start).
 */
export async function confirmSession(c: Context<AppEnv>, caller: VerifiedCaller): Promise<string> {
  if (caller.accessToken) {
    c.set('principal', {
      userId: caller.userId,
      organizationId: caller.organizationId,
      role: caller.accessToken.role,
      installAdmin: caller.accessToken.installAdmin,
      sessionId: caller.sessionId,
      via: 'bearer',
      tokenPermissions: caller.accessToken.permissions,
    });
    // No session entry: what remembers an approved session (ai/warm-start) never matches a token.
    return '';
  }
  const confirmed = await sessionRole(c.get('services'), caller);
  if (!confirmed) throw new ApiError('invalid_token', 'Session has ended; sign in again');
  c.set('principal', {
    userId: caller.userId,
    organizationId: caller.organizationId,
    role: confirmed.role,
    installAdmin: confirmed.installAdmin,
    sessionId: caller.sessionId,
    via: caller.via,
  });
  return confirmed.entry;
}

/**
 * A personal access token (`keel_pat_…`), looked up by its hash: it and its owner's account and
 * membership must stand, the same 401 for every refusal. Failed lookups count against the
 * client address like failed sign-ins, so guessing costs the guesser, not the database.
 */
async function verifyAccessToken(c: Context<AppEnv>, token: string): Promise<VerifiedCaller> {
  const services = c.get('services');
  const address = c.get('clientIp')?.(c);
  const confirmed = await confirmAccessToken(services, token, address);
  if (confirmed) {
    return {
      userId: confirmed.userId,
      organizationId: confirmed.organizationId,
      sessionId: confirmed.tokenId,
      via: 'bearer',
      accessToken: {
        role: confirmed.role,
        installAdmin: confirmed.installAdmin,
        permissions: confirmed.permissions,
      },
    };
  }
  const limit = services.config.loginRateLimitPerMinute * 3;
  const keys = signInRateKeys(services, address ?? 'unknown', '-');
  const decision = await hitRateLimit(services.redis(), keys.byIp, limit, 60);
  if (!decision.allowed) {
    c.header('Retry-After', String(decision.retryAfterSeconds));
    throw new ApiError(
      'rate_limited',
      `Too many failed attempts; try again in ${decision.retryAfterSeconds} s`,
    );
  }
  throw new ApiError('invalid_token', 'Access token is invalid, expired or revoked');
}

/** How long a confirmed session is trusted from Redis before the database is asked again. */
const SESSION_CACHE_SECONDS = 60;

/**
 * The caller's role, if user, membership and session all still stand. Confirmations are
 * cached in Redis (shared by every edge instance), sealed (see cache-seal.ts) and carrying
 * the second they lapse, so an entry written straight into Redis, or an old one written back
 * after a revocation, is worth nothing; revoking a session replaces its entry with a marker,
 * so revocation still acts at once. Role changes and disabling an account must do the same
 * (revoke the user's sessions).
 */
async function sessionRole(
  services: Services,
  caller: VerifiedCaller,
): Promise<{ role: Role; installAdmin: boolean; entry: string } | undefined> {
  const key = sessionCacheKey(services, caller.sessionId);
  const cached = await services.redis().get(key);
  if (cached === REVOKED_MARKER) return undefined;
  const value = await services.cacheSeal.open(key, cached);
  if (value) {
    const [userId, orgId, role, installAdmin, until] = value.split(' ');
    const fresh = Number(until) * 1000 > services.clock.now().getTime();
    const known = Role.safeParse(role);
    if (userId === caller.userId && orgId === caller.organizationId && fresh && known.success)
      return { role: known.data, installAdmin: installAdmin === 'install_admin', entry: cached! };
  }
  const [row] = await services.db
    .select({ role: memberships.role, installAdmin: users.installAdmin })
    .from(users)
    .innerJoin(
      memberships,
      and(
        eq(memberships.userId, users.id),
        eq(memberships.organizationId, caller.organizationId),
        isNull(memberships.disabledAt),
      ),
    )
    .innerJoin(
      refreshTokenFamilies,
      and(
        eq(refreshTokenFamilies.id, caller.sessionId),
        eq(refreshTokenFamilies.userId, users.id),
        isNull(refreshTokenFamilies.revokedAt),
        gt(refreshTokenFamilies.expiresAt, services.clock.now()),
      ),
    )
    .where(and(eq(users.id, caller.userId), isNull(users.disabledAt)))
    .limit(1);
  if (!row) return undefined;
  const until = Math.floor(services.clock.now().getTime() / 1000) + SESSION_CACHE_SECONDS;
  // The fourth field is what `users.install_admin` said; install routes ask the database again.
  const installAdmin = row.installAdmin ? 'install_admin' : '-';
  const entry = await services.cacheSeal.seal(
    key,
    `${caller.userId} ${caller.organizationId} ${row.role} ${installAdmin} ${until}`,
  );
  // NX: never overwrite a revocation that landed while the database was being read. An entry
  // that failed its check stays until it expires; meanwhile every request asks the database.
  await services.redis().set(key, entry, 'EX', SESSION_CACHE_SECONDS, 'NX');
  return { role: row.role, installAdmin: row.installAdmin, entry };
}

/**
 * Acts at once on sessions whose confirmation may sit in the cache: `revoked` ends them (as
 * revokeSession does, for many at a time); `recheck` makes their next request ask the database
 * (a role changed). The recheck entry is not sealed, so it is never trusted, and it outlives
 * any confirmation that a request reading the old row could still write (NX keeps it there).
 */
export async function markSessions(
  services: Services,
  sessionIds: readonly string[],
  mark: 'revoked' | 'recheck',
): Promise<void> {
  if (sessionIds.length === 0) return;
  const [value, seconds] =
    mark === 'revoked' ? [REVOKED_MARKER, REVOKED_MARKER_SECONDS] : ['recheck', SESSION_CACHE_SECONDS + 5];
  const batch = services.redis().multi();
  for (const id of sessionIds) batch.set(sessionCacheKey(services, id), value, 'EX', seconds);
  await batch.exec();
}
