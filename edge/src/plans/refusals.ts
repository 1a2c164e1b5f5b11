import { RateLimitScope } from '@keel/contract/plans';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { answerHeaders } from '../http/answer-headers.ts';
import { ApiError } from '../http/api-error.ts';
import type { Services } from '../services.ts';

/** Days a day's refusal counts are kept (the console shows today; a week is there for a look back). */
export const REFUSALS_KEPT_SECONDS = 8 * 24 * 3600;

/** The UTC day, `YYYY-MM-DD`. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * A hash of refusals by scope for one organization (`-`: refusals of callers not signed in)
 * and one UTC day. The edge has no metrics endpoint of its own: these counts are what the
 * plan page (and any dashboard reading it) shows.
 */
export function refusalsKey(services: Services, organizationId: string | undefined, at: Date): string {
  return `${services.config.redisPrefix}rl:refused:${organizationId ?? '-'}:${utcDay(at)}`;
}

/** Counts one refusal; never fails the request for it. */
export async function countRefusal(
  services: Services,
  organizationId: string | undefined,
  scope: RateLimitScope,
): Promise<void> {
  services.metrics.refused(scope);
  const key = refusalsKey(services, organizationId, services.clock.now());
  try {
    await services.redis().multi().hincrby(key, scope, 1).expire(key, REFUSALS_KEPT_SECONDS).exec();
  } catch (err) {
    console.error(JSON.stringify({ level: 'warn', msg: 'refusal not counted', error: String(err) }));
  }
}

/** Today's refusals of the organization, by scope (every scope present, zero when none). */
export async function refusalsToday(
  services: Services,
  organizationId: string,
): Promise<Record<RateLimitScope, number>> {
  const raw = await services.redis().hgetall(refusalsKey(services, organizationId, services.clock.now()));
  return Object.fromEntries(RateLimitScope.options.map((s) => [s, Number(raw[s] ?? 0) || 0])) as Record<
    RateLimitScope,
    number
  >;
}

/** One limit as the IETF RateLimit headers name it: a policy, its quota and window. */
export interface LimitPolicy {
  name: RateLimitScope;
  quota: number;
  windowSeconds: number;
}

/**
 * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers) for one policy, put
 * in an answer's app-wide headers (lower-case names: http/answer-headers.ts).
 */
export function putPolicyHeaders(
  headers: Record<string, string>,
  policy: LimitPolicy,
  remaining: number,
  resetSeconds: number,
): void {
  headers['ratelimit-policy'] = `"${policy.name}";q=${policy.quota};w=${policy.windowSeconds}`;
  headers.ratelimit = `"${policy.name}";r=${Math.max(0, remaining)};t=${Math.max(0, resetSeconds)}`;
}

/**
 * Refuses the request as a plan or rate limit does: 429 `rate_limited` with the error body,
 * `Retry-After` when waiting helps, and the policy's RateLimit headers when it has one.
 * The refusal is counted first. Throws.
 */
export async function refuse(
  c: Context<AppEnv>,
  refusal: {
    scope: RateLimitScope;
    organizationId: string | undefined;
    message: string;
    retryAfterSeconds?: number;
    policy?: LimitPolicy;
    counted?: boolean;
  },
): Promise<never> {
  if (!refusal.counted) await countRefusal(c.get('services'), refusal.organizationId, refusal.scope);
  // Counted in Redis by the caller's own script: the metric is counted here.
  else c.get('services').metrics.refused(refusal.scope);
  if (refusal.retryAfterSeconds !== undefined) c.header('Retry-After', String(refusal.retryAfterSeconds));
  if (refusal.policy) {
    // With the app-wide headers, over those an earlier counter (the address's) put there.
    putPolicyHeaders(answerHeaders(c), refusal.policy, 0, refusal.retryAfterSeconds ?? 0);
  }
  throw new ApiError('rate_limited', refusal.message);
}
