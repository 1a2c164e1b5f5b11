import { can } from '../session/permissions.ts';
import type { SessionState } from '../session/session-store.ts';

/** The organization roles that administer it: the admin area is theirs, and the API refuses anyone else. */
export function isOrgAdmin(state: SessionState): boolean {
  return state.status === 'signedIn' && (state.role === 'admin' || state.role === 'super_admin');
}

/** Install administrators also manage what every organization shares (the snapshot store). */
export function isInstallAdmin(state: SessionState): boolean {
  return state.status === 'signedIn' && state.installAdmin;
}

/**
 * The admin area's pages, in the side navigation's order; later pages (Members, Audit, Usage) join
 * here. `installAdmin` pages are listed for install administrators only.
 */
export const ADMIN_PAGES: ReadonlyArray<{
  href: string;
  label: string;
  installAdmin?: true;
  superAdmin?: true;
  /** Listed only for roles that hold it (the API refuses the others). */
  permission?: 'runners:manage';
}> = [
  { href: '/admin/health', label: 'Health', permission: 'runners:manage' },
  { href: '/admin/members', label: 'Members' },
  { href: '/admin/invitations', label: 'Invitations' },
  { href: '/admin/servers', label: 'Servers' },
  { href: '/admin/runners', label: 'Runners' },
  { href: '/admin/placement', label: 'Placement' },
  { href: '/admin/snapshots', label: 'Snapshots', installAdmin: true },
  { href: '/admin/sign-in', label: 'Sign-in', superAdmin: true },
  { href: '/admin/audit', label: 'Audit' },
  { href: '/admin/usage', label: 'Usage' },
  { href: '/admin/analytics', label: 'Analytics' },
  { href: '/admin/plan', label: 'Plans and limits' },
];

/** The organization's sign-in settings are its super admins' (`signin:manage`). */
export function isSuperAdmin(state: SessionState): boolean {
  return state.status === 'signedIn' && state.role === 'super_admin';
}

/** Whether the person's role manages the organization's runners (the Health page is theirs). */
export function canManageRunners(state: SessionState): boolean {
  return can(state, 'runners:manage');
}

export function adminPagesFor(state: SessionState): ReadonlyArray<{ href: string; label: string }> {
  return ADMIN_PAGES.filter(
    (page) =>
      (!page.installAdmin || isInstallAdmin(state)) &&
      (!page.superAdmin || isSuperAdmin(state)) &&
      (!page.permission || canManageRunners(state)),
  );
}
