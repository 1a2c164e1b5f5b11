import type { Role } from '@keel/contract/auth';
import { type Permission, ROLE_PERMISSIONS } from '@keel/contract/permissions';
import type { SessionState } from './session-store.ts';

/**
 * Whether the signed-in person may do what `permission` names. The web asks this, never the role:
 * the server's answer (MeResponse.permissions) already narrows the role by an access token's scopes,
 * and the table may change without the web changing. The API enforces it either way; the web only
 * hides what would be refused.
 */
export function can(state: SessionState, permission: Permission): boolean {
  return state.status === 'signedIn' && state.permissions.includes(permission);
}

/** A fresh session's permissions: its role's whole set (signup answers with the role only). */
export function rolePermissions(role: Role): Permission[] {
  return [...ROLE_PERMISSIONS[role]];
}
