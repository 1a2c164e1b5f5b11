import { usageDaily, usageHourly } from '@keel/drizzle/schema';
import { lt } from 'drizzle-orm';
import { usageRetentionLockKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';

const DAY_MS = 24 * 3600_000;
/** One edge of all prunes per hour: the lock lives this long and is never released early. */
export const USAGE_PRUNE_INTERVAL_SECONDS = 3600;

export interface UsageRetention {
  /** Hourly rows older than this many days are deleted. */
  hourlyDays: number;
  /** Daily rows older than this many days are deleted. */
  days: number;
}

/**
 * Deletes rollup rows older than the retention, unless an edge did within the hour (a Redis
 * SET NX lock with the hour as its lifetime, as the audit check's schedule does). Called from
 * the ingest route, which runners call every minute: that works in workerd as on Node, where
 * no timer outlives a request. Returns whether this call pruned.
 */
export async function pruneUsageOnce(services: Services, retention: UsageRetention): Promise<boolean> {
  const taken = await services
    .redis()
    .set(usageRetentionLockKey(services), '1', 'EX', USAGE_PRUNE_INTERVAL_SECONDS, 'NX');
  if (taken !== 'OK') return false;
  await pruneUsage(services, retention);
  return true;
}

/** Deletes what is older than the retention, now (the lock aside). */
export async function pruneUsage(services: Services, retention: UsageRetention): Promise<void> {
  const now = services.clock.now().getTime();
  await services.db
    .delete(usageHourly)
    .where(lt(usageHourly.bucketStart, new Date(now - retention.hourlyDays * DAY_MS)));
  await services.db
    .delete(usageDaily)
    .where(lt(usageDaily.bucketStart, new Date(now - retention.days * DAY_MS)));
}
