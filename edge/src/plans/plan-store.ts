import { PLAN_LIMIT_NAMES, Plan, type PlanLimits } from '@keel/contract/plans';
import { organizations } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { ApiError } from '../http/api-error.ts';
import { keptPerId } from '../redis-keys.ts';
import { setBounded } from '../services/bounded-map.ts';
import type { Services } from '../services.ts';

export interface StoredPlan {
  plan: Plan;
  source: 'organization' | 'install';
}

/**
 * Organization → its plan as last read, for `config.plans.cacheSeconds`: every signed-in
 * request needs its organization's request limit, and asking the database each time would
 * cost more than the limit itself. Plain data, so both runtimes may keep it between requests.
 * A change made on this edge is seen at once; other edges see it within the cache time.
 */
const cache = new Map<string, { stored: StoredPlan; until: number }>();
const CACHED_ORGANIZATIONS = 10_000;
/** Kept once made (read on every signed-in request). */
const cacheKey = keptPerId((prefix, organizationId) => `${prefix}${organizationId}`);

/** The organization's plan (its own, or the install's default), read through the cache. */
export async function planOf(services: Services, organizationId: string): Promise<StoredPlan> {
  const hit = cachedPlanOf(services, organizationId);
  if (hit) return hit;
  const now = Date.now();
  const stored = await readPlan(services, organizationId);
  setBounded(
    cache,
    cacheKey(services, organizationId),
    { stored, until: now + services.config.plans.cacheSeconds * 1000 },
    CACHED_ORGANIZATIONS,
  );
  return stored;
}

/** What `planOf` answers from its cache, without waiting; undefined when it would read the database. */
export function cachedPlanOf(services: Services, organizationId: string): StoredPlan | undefined {
  const hit = cache.get(cacheKey(services, organizationId));
  return hit && hit.until > Date.now() ? hit.stored : undefined;
}

/** The plan in the database, bounded by the install's maximums as they stand now. */
export async function readPlan(services: Services, organizationId: string): Promise<StoredPlan> {
  const [row] = await services.db
    .select({ plan: organizations.plan })
    .from(organizations)
    .where(eq(organizations.id, organizationId))
    .limit(1);
  // A stored plan that no longer parses counts as none: the install's default stands.
  const own = row?.plan ? Plan.safeParse(row.plan) : undefined;
  const { default: fallback, maximums } = services.config.plans;
  return own?.success
    ? { plan: { ...own.data, limits: withinMaximums(own.data.limits, maximums) }, source: 'organization' }
    : { plan: { ...fallback, limits: withinMaximums(fallback.limits, maximums) }, source: 'install' };
}

/** Sets (or, with null, clears) the organization's plan; refuses one above the install's maximums. */
export async function writePlan(
  services: Services,
  organizationId: string,
  plan: Plan | null,
): Promise<void> {
  if (plan) assertWithinMaximums(plan.limits, services.config.plans.maximums);
  await services.db.update(organizations).set({ plan }).where(eq(organizations.id, organizationId));
  cache.delete(cacheKey(services, organizationId));
}

/** Each limit no higher than the install allows: a maximum lowered later binds existing plans too. */
export function withinMaximums(limits: PlanLimits, maximums: PlanLimits): PlanLimits {
  const out = { ...limits };
  for (const name of PLAN_LIMIT_NAMES) {
    const max = maximums[name];
    const value = limits[name];
    if (max !== null && (value === null || value > max)) out[name] = max;
  }
  return out;
}

function assertWithinMaximums(limits: PlanLimits, maximums: PlanLimits): void {
  const over = PLAN_LIMIT_NAMES.filter((name) => {
    const max = maximums[name];
    const value = limits[name];
    return max !== null && (value === null || value > max);
  });
  if (over.length > 0) {
    throw new ApiError(
      'resource_limit',
      `Above the install’s maximum: ${over.map((n) => `${n} (at most ${maximums[n]})`).join(', ')}`,
      over.map((n) => ({ path: `plan.limits.${n}`, message: `at most ${maximums[n]}` })),
    );
  }
}
