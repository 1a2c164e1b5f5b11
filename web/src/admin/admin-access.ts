import type { SessionState } from '../session/session-store.ts';

/** The organization roles that administer it: the admin area is theirs, and the API refuses anyone else. */
export function isOrgAdmin(state: SessionState): boolean {
  return state.status === 'signedIn' && (state.role === 'admin' || state.role === 'super_admin');
}

/** The admin area's pages, in the side navigation's order; later pages (Members, Audit, Usage) join here. */
export const ADMIN_PAGES: ReadonlyArray<{ href: string; label: string }> = [
  { href: '/admin/servers', label: 'Servers' },
  { href: '/admin/runners', label: 'Runners' },
];
