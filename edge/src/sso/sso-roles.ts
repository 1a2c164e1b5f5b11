import { type Role, roleRank } from '@keel/contract/auth';
import type { ClaimRoleRow } from '@keel/contract/identity';

const norm = (s: string) => s.trim().toLowerCase();

/**
 * The highest role a mapping row gives for these groups or teams (compared without regard to
 * case, as GitHub's `org/team` logins are), or null when no row matches.
 */
export function mappedRole(groups: readonly string[], map: readonly ClaimRoleRow[]): Role | null {
  const held = new Set(groups.map(norm));
  let best: Role | null = null;
  for (const row of map) {
    if (!held.has(norm(row.group))) continue;
    if (best === null || roleRank[row.role] > roleRank[best]) best = row.role;
  }
  return best;
}
