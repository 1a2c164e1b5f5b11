/**
 * How a policy picks among the eligible candidates. Preferred labels order first (more matches
 * first); the strategy decides within the best group: `least-loaded` the most room left after
 * placing, `round-robin` the next in id order after an organization-wide counter.
 */
import type { PlacementStrategy } from '@keel/contract/placement';
import type { Services } from '../services.ts';

export interface Eligible {
  runnerId: string;
  labels: Record<string, string>;
  score: number;
}

export function preferredMatches(labels: Record<string, string>, preferred: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(preferred)) if (labels[k] === v) n++;
  return n;
}

/** The candidates that match the most preferred labels (all of them when none are preferred). */
export function bestPreferred<E extends Eligible>(eligible: E[], preferred: Record<string, string>): E[] {
  if (Object.keys(preferred).length === 0) return eligible;
  let best = -1;
  let group: E[] = [];
  for (const e of eligible) {
    const n = preferredMatches(e.labels, preferred);
    if (n > best) {
      best = n;
      group = [e];
    } else if (n === best) group.push(e);
  }
  return group;
}

/** The most room left; ties go to the lower id, so a decision is reproducible. */
export function leastLoaded<E extends Eligible>(group: E[]): E | undefined {
  let best: E | undefined;
  for (const e of group) if (!best || e.score > best.score) best = e;
  return best;
}

function roundRobinKey(services: Services, organizationId: string): string {
  return `${services.config.redisPrefix}placement:rr:${organizationId}`;
}

/**
 * The next of `group` (in id order) by the organization's counter: INCR is atomic, so two
 * decisions at once never take the same turn.
 */
export async function roundRobin<E extends Eligible>(
  services: Services,
  organizationId: string,
  group: E[],
): Promise<E | undefined> {
  if (group.length === 0) return undefined;
  if (group.length === 1) return group[0];
  const sorted = [...group].sort((a, b) => (a.runnerId < b.runnerId ? -1 : a.runnerId > b.runnerId ? 1 : 0));
  const turn = await services.redis().incr(roundRobinKey(services, organizationId));
  return sorted[(turn - 1) % sorted.length];
}

export async function pick<E extends Eligible>(
  services: Services,
  organizationId: string,
  strategy: PlacementStrategy,
  eligible: E[],
  preferred: Record<string, string>,
): Promise<E | undefined> {
  const group = bestPreferred(eligible, preferred);
  return strategy === 'round-robin' ? roundRobin(services, organizationId, group) : leastLoaded(group);
}
