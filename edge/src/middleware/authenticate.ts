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
import { setBounded } from '../services/bounded-map.ts';
import { hitRateLimit } from '../services/rate-limit.ts';
import type { RedisCommand } from '../services/request-redis.ts';
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
  const { token, via } = presentedToken(c);
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
 * `verifyCaller` for an access token verified before (its signature is not checked again: see
 * SigningKeyStore.remembered), without waiting; undefined for anything else, a refusal
 * included, which `verifyCaller` then makes.
 */
export function verifiedCallerFromMemory(c: Context<AppEnv>): VerifiedCaller | undefined {
  let presented: ReturnType<typeof presentedToken>;
  try {
    presented = presentedToken(c);
    if (presented.via === 'cookie') assertCsrf(c);
  } catch {
    return undefined;
  }
  const { token, via } = presented;
  if (via === 'bearer' && looksLikeAccessToken(token)) return undefined;
  const claims = c.get('services').keys.remembered(token);
  if (!claims) return undefined;
  return { userId: claims.sub, organizationId: claims.org, sessionId: claims.sid, via };
}

/**
 * The last Authorization header read and its token. A client sends the same header with each
 * request, and the token found in it is then the same string each time: the memory of verified
 * tokens (SigningKeyStore.remembered) finds it without reading the whole token again to hash it.
 */
let lastBearer: { header: string | null; token: string } = { header: null, token: '' };

/** The access token the request presents: a Bearer header, or else the session cookie. */
function presentedToken(c: Context<AppEnv>): { token: string; via: Principal['via'] } {
  const header = c.req.header('authorization');
  let token: string | undefined;
  let via: Principal['via'] = 'bearer';
  if (header === lastBearer.header) token = lastBearer.token;
  else if (header !== undefined) {
    // The scheme is case-insensitive (RFC 9110, 11.1); the token is not.
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    if (!m) throw new ApiError('invalid_token', 'Authorization header must be "Bearer <token>"');
    token = m[1]!;
    lastBearer = { header, token };
  } else {
    token = getCookie(c, AUTH_COOKIES.access);
    via = 'cookie';
  }
  if (!token) throw new ApiError('unauthorized', 'Sign in first');
  return { token, via };
}

/**
 * The second half: the session, user and membership still stand. Sets the principal, and
 * returns the session's entry in Redis as it now reads, for callers that check later that
 * nothing changed since (see ai/warm-start).
 */
export async function confirmSession(c: Context<AppEnv>, caller: VerifiedCaller): Promise<string> {
  return (await confirmSessionReading(c, caller, [])).entry;
}

/**
 * `confirmSession`, reading `keys` in the same round trip as the session's entry: for a route
 * that knows from the verified token what it will read next (the workspace list). Their values
 * are as Redis held them with the entry, read before the session was confirmed and used only
 * after. With a personal access token (no session entry) they are read on their own.
 */
export async function confirmSessionReading(
  c: Context<AppEnv>,
  caller: VerifiedCaller,
  keys: readonly string[],
  alongside?: AlongsideCommands,
): Promise<{ entry: string; values: Array<string | null>; alongside: unknown[] }> {
  const services = c.get('services');
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
    const [values = [], ...extra] = await readTogether(services, keys, alongside);
    return { entry: '', values: values as Array<string | null>, alongside: extra };
  }
  const { confirmed, values, extra } = await sessionRole(services, caller, keys, alongside);
  if (!confirmed) throw new ApiError('invalid_token', 'Session has ended; sign in again');
  c.set('principal', sessionPrincipal(caller, confirmed));
  return { entry: confirmed.entry, values, alongside: extra };
}

function sessionPrincipal(
  caller: VerifiedCaller,
  confirmed: { role: Role; installAdmin: boolean },
): Principal {
  return {
    userId: caller.userId,
    organizationId: caller.organizationId,
    role: confirmed.role,
    installAdmin: confirmed.installAdmin,
    sessionId: caller.sessionId,
    via: caller.via,
  };
}

/**
 * `confirmSessionReading` without waiting, for a session whose entry, and `keys`, this process
 * holds in memory (services.reads, which Redis tells of every change, so a revocation acts here
 * as at once as there) and whose entry was opened here before: sets the principal and answers
 * the values of `keys`. Undefined for anything else (a personal access token, a key not held,
 * an entry not opened before, a revoked or lapsed session), which `confirmSessionReading` then
 * decides.
 */
export function confirmSessionFromMemory(
  c: Context<AppEnv>,
  caller: VerifiedCaller,
  keys: readonly string[],
): Array<string | null> | undefined {
  if (caller.accessToken) return undefined;
  const services = c.get('services');
  const key = sessionCacheKey(services, caller.sessionId);
  const read = services.reads.peek([key, ...keys]);
  const cached = read?.[0];
  if (!read || !cached || cached === REVOKED_MARKER) return undefined;
  const entry = openedBefore(services, key, cached);
  if (!entry || !entryConfirms(services, entry, caller)) return undefined;
  c.set('principal', sessionPrincipal(caller, entry));
  return read.slice(1);
}

/** Whether an opened entry confirms the caller's session now: theirs, and not lapsed. */
function entryConfirms(services: Services, entry: OpenedEntry, caller: VerifiedCaller): boolean {
  return (
    entry.userId === caller.userId &&
    entry.organizationId === caller.organizationId &&
    entry.untilMs > services.clock.now().getTime()
  );
}

/** Commands a route sends in the session read's round trip (its request counting: middleware/rate-limits.ts). */
export type AlongsideCommands = readonly RedisCommand[];

/**
 * `keys` as MGET answers them (kept in memory while Redis says they stand: services.reads), and
 * the answers of the `alongside` commands, sent meanwhile in a pipeline of their own: the
 * values first, then each command's answer (or its error, in its place).
 */
async function readTogether(
  services: Services,
  keys: readonly string[],
  alongside: AlongsideCommands | undefined,
): Promise<unknown[]> {
  if (!alongside) return [keys.length > 0 ? await services.reads.mget(keys) : []];
  const [values, answers] = await Promise.all([
    keys.length > 0 ? services.reads.mget(keys) : [],
    services.commands.pipeline(alongside),
  ]);
  return [values, ...answers];
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
  services.metrics.signInFailed('token');
  const limit = services.config.loginRateLimitPerMinute * 3;
  const keys = signInRateKeys(services, address ?? 'unknown', '-');
  const decision = await hitRateLimit(services.commands, keys.byIp, limit, 60);
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
  alsoRead: readonly string[] = [],
  alongside?: AlongsideCommands,
): Promise<{
  confirmed: { role: Role; installAdmin: boolean; entry: string } | undefined;
  values: Array<string | null>;
  extra: unknown[];
}> {
  const key = sessionCacheKey(services, caller.sessionId);
  let cached: string | null;
  let values: Array<string | null> = [];
  let extra: unknown[] = [];
  if (alsoRead.length === 0 && !alongside) [cached = null] = await services.reads.mget([key]);
  else {
    const [read, ...rest] = await readTogether(services, [key, ...alsoRead], alongside);
    [cached = null, ...values] = read as Array<string | null>;
    extra = rest;
  }
  if (cached === REVOKED_MARKER) return { confirmed: undefined, values, extra };
  const entry = await openSessionEntry(services, key, cached);
  if (entry && entryConfirms(services, entry, caller)) {
    return {
      confirmed: { role: entry.role, installAdmin: entry.installAdmin, entry: cached! },
      values,
      extra,
    };
  }
  return { confirmed: await confirmInDatabase(services, caller, key), values, extra };
}

/** A session entry, opened: who it confirms, their role, and the moment it lapses. */
interface OpenedEntry {
  userId: string;
  organizationId: string;
  role: Role;
  installAdmin: boolean;
  untilMs: number;
}

/** Session entries opened lately, per `services` (see openSessionEntry); bounded. */
const openedEntries = new WeakMap<Services, Map<string, { sealed: string; opened: OpenedEntry }>>();
const MAX_OPENED = 10_000;

/**
 * The sealed entry, checked and parsed; undefined for anything not sealed for this key or not
 * well formed. A session's entry reads the same on each of its requests for up to
 * SESSION_CACHE_SECONDS, so the last one opened for each key is kept with the exact text it
 * was opened from: the same text under the same key opens to the same entry, so only a text
 * never opened before costs the seal check. What the entry says is still checked on every
 * request (whose it is, and that it has not lapsed), and the entry is read through
 * `services.reads`, which Redis tells of every change to it, so a revocation (a marker in place
 * of the entry) acts at once.
 */
async function openSessionEntry(
  services: Services,
  key: string,
  sealed: string | null,
): Promise<OpenedEntry | undefined> {
  if (!sealed) return undefined;
  const known = openedBefore(services, key, sealed);
  if (known) return known;
  const value = await services.cacheSeal.open(key, sealed);
  if (!value) return undefined;
  const [userId, organizationId, role, installAdmin, until] = value.split(' ');
  const parsedRole = Role.safeParse(role);
  if (!userId || !organizationId || !parsedRole.success) return undefined;
  const opened: OpenedEntry = {
    userId,
    organizationId,
    role: parsedRole.data,
    installAdmin: installAdmin === 'install_admin',
    untilMs: Number(until) * 1000,
  };
  let memo = openedEntries.get(services);
  if (!memo) {
    memo = new Map();
    openedEntries.set(services, memo);
  }
  setBounded(memo, key, { sealed, opened }, MAX_OPENED);
  return opened;
}

/** The entry last opened under `key`, if it was opened from exactly this text. */
function openedBefore(services: Services, key: string, sealed: string): OpenedEntry | undefined {
  const known = openedEntries.get(services)?.get(key);
  return known?.sealed === sealed ? known.opened : undefined;
}

/** The session, user and membership, read from the database; a confirmation is cached in Redis. */
async function confirmInDatabase(
  services: Services,
  caller: VerifiedCaller,
  key: string,
): Promise<{ role: Role; installAdmin: boolean; entry: string } | undefined> {
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
  await services.commands.send(['SET', key, entry, 'EX', SESSION_CACHE_SECONDS, 'NX']);
  services.reads.forget([key]);
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
  const keys = sessionIds.map((id) => sessionCacheKey(services, id));
  await services.commands.transaction(keys.map((key) => ['SET', key, value, 'EX', seconds]));
  services.reads.forget(keys);
}
