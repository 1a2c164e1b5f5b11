import type { RateLimitScope } from '@keel/contract/plans';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { AppEnv, Principal } from '../app-env.ts';
import { answerHeaders } from '../http/answer-headers.ts';
import { cachedPlanOf, planOf, type StoredPlan } from '../plans/plan-store.ts';
import {
  type LimitPolicy,
  putPolicyHeaders,
  REFUSALS_KEPT_SECONDS,
  refusalsKey,
  refuse,
} from '../plans/refusals.ts';
import { setBounded } from '../services/bounded-map.ts';
import {
  type CountersDecision,
  countersHit,
  counterWindowKeys,
  sendCountersHit,
  windowNow,
} from '../services/rate-limit.ts';
import type { HeldLeases, RequestLeases } from '../services/request-leases.ts';

/**
 * Request limits, per minute, counted in Redis so every edge instance shares them:
 *  - per client address, on every route (KEEL_RATE_LIMIT_IP_PER_MINUTE);
 *  - per person, on routes that need one signed in (KEEL_RATE_LIMIT_PERSON_PER_MINUTE);
 *  - per organization, its plan's `apiRequestsPerMinute`, shared by all its people.
 * A request is counted against all that apply at once: from counts this edge leased ahead
 * while each is far from its limit (services/request-leases.ts), otherwise in one Redis round
 * trip. A route that authenticates has its counting wait for the person
 * (`limitedAuthentication`, which the described routes put in place of `authenticate`); every
 * other route is counted by address here, before its handlers.
 */
const WINDOW_SECONDS = 60;

/** The authentication middleware instances that count the request themselves, once they know who. */
const countingAfterAuth = new WeakSet<object>();
/** Requests already counted (several route groups may run their checks on one request). */
const counted = new WeakSet<Context>();

/** The handlers whose requests are counted behind them (`countsBehind`). */
const countingBehind = new WeakSet<object>();
/** Addresses a count found past their limit, until their window ends (for `countsBehind`). */
const overLimit = new Map<string, number>();
const MAX_OVER_LIMIT = 10_000;

/** The app-wide middleware: counts by address unless the route will count once it knows the person. */
export function requestLimits(): MiddlewareHandler<AppEnv> {
  return function requestLimitsMiddleware(c, next) {
    const routes = matchedRoutes(c);
    if (routes.some((r) => countingAfterAuth.has(r.handler))) return next();
    if (routes.some((r) => countingBehind.has(r.handler))) return countBehind(c, next);
    return countThenNext(c, next);
  };
}

async function countThenNext(c: Context<AppEnv>, next: () => Promise<void>): Promise<void> {
  await countRequest(c, undefined);
  await next();
}

/**
 * For a route whose start is one round trip end to end (the AI starts: ai/warm-start.ts, with
 * their own per-person limit inside it): the address's count goes out once the handler has
 * answered, instead of before it. An address a count found past its limit is refused here, without a
 * round trip, until its window ends; so at most the requests in flight when it passed go
 * through, and they are counted all the same.
 */
async function countBehind(c: Context<AppEnv>, next: () => Promise<void>): Promise<void> {
  const services = c.get('services');
  const address = c.get('clientIp')?.(c) ?? 'unknown';
  const key = `${services.config.redisPrefix}${address}`;
  const until = overLimit.get(key);
  if (until !== undefined && until > Date.now()) {
    await countRequest(c, undefined);
    return next();
  }
  if (until !== undefined) overLimit.delete(key);
  const prepared = await prepareCount(c, undefined);
  try {
    await next();
  } finally {
    // Once the start is answered (its stream under way), so nothing waits behind the count.
    // A count kept in memory (far from every limit) has nothing to send.
    if (prepared && !prepared.hit.local)
      void sendCountersHit(services.commands, prepared.hit).then((answer) => {
        const decision = prepared.hit.decide(answer);
        if (decision.refused >= 0) {
          if (overLimit.size >= MAX_OVER_LIMIT) overLimit.clear();
          overLimit.set(key, Date.now() + decision.resetSeconds * 1000);
        }
      });
  }
}

/** Marks a handler whose request is counted beside it rather than before it (see countBehind). */
export function countsBehind<H extends object>(handler: H): H {
  countingBehind.add(handler);
  return handler;
}

/**
 * `authenticate`, then the request counted by address, person and plan in one round trip.
 * A caller who fails authentication is still counted by address: past its limit the answer is
 * 429, not 401, so guessing tokens is limited like everything else.
 */
export function limitedAuthentication(authenticate: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  const middleware: MiddlewareHandler<AppEnv> = async function limitedAuthenticationMiddleware(c, next) {
    let authenticated = false;
    try {
      await authenticate(c, async () => {
        authenticated = true;
      });
    } catch (err) {
      if (!authenticated) await countRequest(c, undefined);
      throw err;
    }
    await countRequest(c, c.get('principal'));
    await next();
  };
  countingAfterAuth.add(middleware);
  return middleware;
}

/**
 * Counts the request once; refuses (throws) when a limit is passed, and otherwise puts the
 * tightest policy's RateLimit headers on the answer to come.
 */
export async function countRequest(
  c: Context<AppEnv>,
  principal: Pick<Principal, 'userId' | 'organizationId'> | undefined,
): Promise<void> {
  const prepared = await prepareCount(c, principal);
  if (!prepared) return;
  await prepared.settle(
    prepared.hit.local ? undefined : await sendCountersHit(c.get('services').commands, prepared.hit),
  );
}

/**
 * The request's counting, to send in a pipeline beside the caller's own reads (one round trip
 * for both) unless it was counted in memory (`hit.local`): for a route that authenticates
 * itself and counts itself (`countsItself`), given the person its verified token names.
 * `settle` takes the script's answer (or the error; nothing for a local count): it throws the
 * 429, or sets the RateLimit headers for the answer to come. Undefined when this request was
 * counted already.
 */
export async function prepareCount(
  c: Context<AppEnv>,
  principal: Pick<Principal, 'userId' | 'organizationId'> | undefined,
): Promise<
  | {
      hit: ReturnType<typeof countersHit>;
      settle(answer: unknown): Promise<void>;
    }
  | undefined
> {
  if (counted.has(c)) return undefined;
  counted.add(c);
  const services = c.get('services');
  const organizationId = principal?.organizationId;
  const counters = requestCounters(
    c,
    principal,
    organizationId === undefined ? undefined : await planOf(services, organizationId),
  );
  const hit = hitOf(c, counters, organizationId);
  return {
    hit,
    async settle(answer) {
      // Redis lost the script (a restart, SCRIPT FLUSH): sent alone, it is loaded again.
      if (answer instanceof Error && answer.message.includes('NOSCRIPT'))
        answer = await sendCountersHit(services.commands, hit);
      return settle(c, counters, organizationId, hit.decide(answer));
    },
  };
}

/**
 * `countRequest` for a signed-in caller, without waiting, when this edge can count the request
 * from its leases (far from every limit: services/request-leases.ts) and knows the organization's
 * plan: counts it and sets the RateLimit headers. False, counting nothing, when the request must
 * be counted by `countRequest` (in Redis, or once the plan is read).
 */
export function countFromLeases(
  c: Context<AppEnv>,
  principal: Pick<Principal, 'userId' | 'organizationId'>,
): boolean {
  if (counted.has(c)) return false;
  const services = c.get('services');
  const leases = services.leases;
  if (!leases) return false;
  const plan = cachedPlanOf(services, principal.organizationId);
  if (!plan) return false;
  const address = c.get('clientIp')?.(c) ?? 'unknown';
  const { window, resetSeconds } = windowNow(WINDOW_SECONDS);
  const last = lastCounted.get(principal.userId);
  let counts: number[] | undefined;
  let counters: readonly PolicyCounter[];
  if (
    last &&
    last.leases === leases &&
    last.window === window &&
    last.address === address &&
    last.organizationId === principal.organizationId &&
    last.plan === plan
  ) {
    counters = last.counters;
    counts = leases.takeHeld(last.held);
  } else {
    counters = requestCounters(c, principal, plan, address);
    const held = leases.held(counterWindowKeys(counters, window));
    counts = held && leases.takeHeld(held);
    if (held && counts)
      setBounded(
        lastCounted,
        principal.userId,
        { leases, window, address, organizationId: principal.organizationId, plan, counters, held },
        MAX_LAST_COUNTED,
      );
  }
  // Not counted here; nothing was taken from the leases.
  if (!counts) return false;
  counted.add(c);
  // A count from a lease is never past a limit (leases are granted only below half of each).
  putRateLimitHeaders(c, counters, { counts, refused: -1, resetSeconds });
  return true;
}

/**
 * Each person's last request counted from leases: its counters and their leases, for their next
 * request from the same address, organization, plan and window, which is counted on the same
 * leases without making its counters' keys again (`countFromLeases`: most requests' path).
 */
const lastCounted = new Map<
  string,
  {
    leases: RequestLeases;
    window: number;
    address: string;
    organizationId: string;
    plan: StoredPlan;
    counters: readonly PolicyCounter[];
    held: HeldLeases;
  }
>();
const MAX_LAST_COUNTED = 10_000;

type PolicyCounter = ReturnType<typeof policyCounter>;

/** The counters a request is counted against: its address, and the person and plan when signed in. */
function requestCounters(
  c: Context<AppEnv>,
  principal: Pick<Principal, 'userId' | 'organizationId'> | undefined,
  plan: StoredPlan | undefined,
  address = c.get('clientIp')?.(c) ?? 'unknown',
): PolicyCounter[] {
  const services = c.get('services');
  const { perIpPerMinute, perPersonPerMinute } = services.config.rateLimits;
  const prefix = `${services.config.redisPrefix}rl:req`;
  const counters = [policyCounter(`${prefix}:ip:${address}`, 'ip', perIpPerMinute)];
  if (principal) {
    counters.push(policyCounter(`${prefix}:user:${principal.userId}`, 'person', perPersonPerMinute));
    const perOrg = plan?.plan.limits.apiRequestsPerMinute ?? null;
    if (perOrg !== null)
      counters.push(policyCounter(`${prefix}:org:${principal.organizationId}`, 'plan', perOrg));
  }
  return counters;
}

function hitOf(c: Context<AppEnv>, counters: readonly PolicyCounter[], organizationId: string | undefined) {
  const services = c.get('services');
  return countersHit(
    counters,
    WINDOW_SECONDS,
    () => ({
      key: refusalsKey(services, organizationId, services.clock.now()),
      keepSeconds: REFUSALS_KEPT_SECONDS,
    }),
    services.leases,
  );
}

async function settle(
  c: Context<AppEnv>,
  counters: readonly { limit: number; field: RateLimitScope; policy: LimitPolicy }[],
  organizationId: string | undefined,
  decision: CountersDecision,
): Promise<void> {
  if (decision.counts.length === 0) return;
  const refused = counters[decision.refused];
  if (refused) {
    await refuse(c, {
      scope: refused.field,
      organizationId,
      counted: true,
      retryAfterSeconds: decision.resetSeconds,
      policy: refused.policy,
      message: `${REFUSAL_WORDS[refused.field]}: at most ${refused.limit} requests a minute; try again in ${decision.resetSeconds} s`,
    });
  }
  putRateLimitHeaders(c, counters, decision);
}

/** The RateLimit headers of the policy a client should pace itself by, for a request let through. */
function putRateLimitHeaders(
  c: Context<AppEnv>,
  counters: readonly { limit: number; policy: LimitPolicy }[],
  decision: CountersDecision,
): void {
  // The policy closest to its limit is the one a client should pace itself by.
  let tightest = 0;
  for (let i = 1; i < counters.length; i++) {
    const left = counters[i]!.limit - (decision.counts[i] ?? 0);
    if (left < counters[tightest]!.limit - (decision.counts[tightest] ?? 0)) tightest = i;
  }
  // On every answer, with the other app-wide headers (http/answer-headers.ts).
  putPolicyHeaders(
    answerHeaders(c),
    counters[tightest]!.policy,
    counters[tightest]!.limit - (decision.counts[tightest] ?? 0),
    decision.resetSeconds,
  );
}

/** Marks a handler that counts its request itself (through `prepareCount`): the app-wide middleware leaves it. */
export function countsItself<H extends object>(handler: H): H {
  countingAfterAuth.add(handler);
  return handler;
}

const REFUSAL_WORDS: Record<RateLimitScope, string> = {
  ip: 'Too many requests from this address',
  person: 'Too many requests from you',
  plan: 'Too many requests from your organization (its plan)',
  ai: 'The organization’s AI tokens for today are spent',
  workspaces: 'The organization’s plan allows no more running workspaces',
  commands: 'The organization’s plan allows no more running commands',
};

function policyCounter(key: string, field: RateLimitScope, limit: number) {
  return { key, limit, field, policy: { name: field, quota: limit, windowSeconds: WINDOW_SECONDS } };
}
