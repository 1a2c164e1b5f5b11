import { type Role, roleRank } from '@keel/contract/auth';
import type { GroupRoleRow } from '@keel/contract/identity';
import { normalizeDn } from './ldap-filter.ts';

/**
 * The role a person's groups give: the highest mapped role among them, else the default role;
 * `null` when neither applies (the person may not sign in).
 */
export function roleForGroups(
  groups: readonly string[],
  map: readonly GroupRoleRow[],
  defaultRole: Role | null,
): Role | null {
  const held = new Set(groups.map(normalizeDn));
  let best: Role | null = null;
  for (const row of map) {
    if (!held.has(normalizeDn(row.group))) continue;
    if (best === null || roleRank[row.role] > roleRank[best]) best = row.role;
  }
  return best ?? defaultRole;
}
