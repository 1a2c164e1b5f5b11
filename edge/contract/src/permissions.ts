import { z } from 'zod';
import type { Role } from './auth.ts';

/**
 * What a person may do in their organization, one name per capability. Roles are sets of these
 * (ROLE_PERMISSIONS); personal access tokens carry a subset of their owner's; every route of the
 * API declares the one it needs (ApiRoute.access), and the OpenAPI document shows it.
 */
export const Permission = z.enum([
  /** Read the organization's workspaces they may see, their files and logs (read-only IDE). */
  'workspaces:read',
  /** Create workspaces (their own). */
  'workspaces:create',
  /** Work in their own workspaces: write files, run commands, open terminals, lifecycle, snapshots. */
  'workspaces:use',
  /** The same in other people's workspaces of the organization. */
  'workspaces:admin',
  /** Ask the AI assistant (and spend the organization's tokens). */
  'ai:use',
  /** Members, roles, invitations, disabling and removing people. */
  'members:manage',
  /** The organization's runners and registration tokens, drains, placement by hand. */
  'runners:manage',
  /** The organization's servers (SSH and Kubernetes hosts). */
  'servers:manage',
  /** The organization's audit trail. */
  'audit:read',
  /** The organization's usage figures. */
  'usage:read',
  /** The organization's settings: placement policy, snapshots, integrations. */
  'settings:manage',
  /** Sign-in settings (SSO, directory, password sign-in), the plan, and the other admins. */
  'signin:manage',
]);
export type Permission = z.infer<typeof Permission>;

const VIEWER: readonly Permission[] = ['workspaces:read'];
const DEVELOPER: readonly Permission[] = [...VIEWER, 'workspaces:create', 'workspaces:use', 'ai:use'];
const ADMIN: readonly Permission[] = [
  ...DEVELOPER,
  'workspaces:admin',
  'members:manage',
  'runners:manage',
  'servers:manage',
  'audit:read',
  'usage:read',
  'settings:manage',
];
const SUPER_ADMIN: readonly Permission[] = [...ADMIN, 'signin:manage'];

/** The role → permissions table. Install-wide resources are the install administrators' (RouteAccess 'install_admin'), not any role's. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  viewer: new Set(VIEWER),
  developer: new Set(DEVELOPER),
  admin: new Set(ADMIN),
  super_admin: new Set(SUPER_ADMIN),
};

export function roleHas(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/**
 * Who may call a route: anyone (`public`: health, sign-in), any signed-in person of the
 * organization (`signed_in`: their own account), a person holding a permission, an install
 * administrator (`install_admin`), or a runner with its credential (`runner`).
 */
export type RouteAccess =
  | { readonly kind: 'public' }
  | { readonly kind: 'signed_in' }
  | { readonly kind: 'permission'; readonly permission: Permission }
  | { readonly kind: 'install_admin' }
  | { readonly kind: 'runner' };
