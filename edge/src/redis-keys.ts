/**
 * The names of the Redis keys only the edge reads and writes. Keys a runner touches are in
 * @keel/contract/keys, under the runner's own prefix, so that its ACL user can be confined there;
 * none of these may fall under it.
 */

import { keptJoins } from './services/bounded-map.ts';

/** Anything that knows the install's key prefix (the services, or their config). */
type Prefixed = { config: { redisPrefix: string } };

/**
 * A key made on most requests from the same id (a session's, an organization's), kept once made
 * per install prefix (services/bounded-map.ts, keptJoins): at most 64 prefixes (a process runs
 * one; tests run several) and 10,000 ids each.
 */
export function keptPerId(
  make: (prefix: string, id: string) => string,
): (on: Prefixed, id: string) => string {
  const kept = keptJoins(make, 64, 10_000);
  return (on, id) => kept(on.config.redisPrefix, id);
}

/** A signed-in session's cached confirmation, or its revocation marker (read on every request). */
export const sessionCacheKey = keptPerId((prefix, sessionId) => `${prefix}sess:${sessionId}`);

/** A live workspace row, cached for the file and command routes. */
export function workspaceRowKey(on: Prefixed, workspaceId: string): string {
  return `${on.config.redisPrefix}wsrow:${workspaceId}`;
}

/** The version of a read-through cache scope (see workspaces/cache.ts; the list's is read on every list). */
export const cacheVersionKey = keptPerId((prefix, scope) => `${prefix}cache:v:${scope}`);

export function cacheEntryKey(on: Prefixed, scope: string, version: string, key: string): string {
  return `${on.config.redisPrefix}cache:${scope}:${version}:${key}`;
}

/** The edge's record of an AI stream (who asked, which runner); runners never read it. */
export function aiStreamRecordKey(on: Prefixed, streamId: string): string {
  return `${on.config.redisPrefix}ai:${streamId}`;
}

/** Claimed by the first report of an AI call, so a call is counted once. */
export function aiReportedKey(on: Prefixed, streamId: string): string {
  return `${aiStreamRecordKey(on, streamId)}:reported`;
}

/** The edge's record of a terminal session (who opened it, on which runner). */
export function terminalSessionKey(on: Prefixed, sessionId: string): string {
  return `${on.config.redisPrefix}trm:${sessionId}`;
}

/** Rate counters (see services/rate-limit.ts): AI calls per person, sign-ins per address and account. */
export function aiRateKey(on: Prefixed, userId: string): string {
  return `${on.config.redisPrefix}rl:ai:${userId}`;
}

export function signInRateKeys(
  on: Prefixed,
  ip: string,
  emailSha256: string,
): { byIp: string; byAccount: string } {
  const prefix = `${on.config.redisPrefix}rl:auth`;
  return { byIp: `${prefix}:ip:${ip}`, byAccount: `${prefix}:acct:${emailSha256}` };
}

/** A started single sign-on (state, nonce, PKCE verifier), named by the state's hash, taken once. */
export function ssoStateKey(on: Prefixed, stateSha256: string): string {
  return `${on.config.redisPrefix}sso:state:${stateSha256}`;
}

/** Single sign-on starts and callbacks per client address. */
export function ssoRateKey(on: Prefixed, ip: string): string {
  return `${on.config.redisPrefix}rl:sso:ip:${ip}`;
}

/**
 * One UTC minute of request figures, added to by every edge (see metrics/request-stats.ts);
 * `minute` counts minutes since the Unix epoch.
 */
export function edgeStatsMinuteKey(on: Prefixed, minute: number): string {
  return `${on.config.redisPrefix}edge-stats:${minute}`;
}

/** Claimed by the first delivery of a runner's usage report, so a retried report counts once. */
export function usageReportedKey(on: Prefixed, runnerId: string, reportId: string): string {
  return `${on.config.redisPrefix}usage:reported:${runnerId}:${reportId}`;
}

/** Held for an hour by the edge that prunes the usage rollups, so that one prunes per hour. */
export function usageRetentionLockKey(on: Prefixed): string {
  return `${on.config.redisPrefix}usage:retention:lock`;
}
