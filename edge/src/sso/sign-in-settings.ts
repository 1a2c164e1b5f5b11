import type { Role } from '@keel/contract/auth';
import type { SignInSettings } from '@keel/contract/identity';
import { identityProviders, signInSettings } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import type { Services } from '../services.ts';

/** What an organization without a settings row has: password sign-in on, nothing required. */
export const DEFAULT_SIGN_IN_SETTINGS: SignInSettings = {
  passwordEnabled: true,
  requireSso: false,
  defaultRole: 'developer',
};

export async function readSignInSettings(
  services: Services,
  organizationId: string,
): Promise<SignInSettings> {
  const [row] = await services.db
    .select()
    .from(signInSettings)
    .where(eq(signInSettings.organizationId, organizationId))
    .limit(1);
  if (!row) return DEFAULT_SIGN_IN_SETTINGS;
  return { passwordEnabled: row.passwordEnabled, requireSso: row.requireSso, defaultRole: row.defaultRole };
}

export async function writeSignInSettings(
  services: Services,
  organizationId: string,
  settings: SignInSettings,
): Promise<void> {
  const now = services.clock.now();
  await services.db
    .insert(signInSettings)
    .values({ organizationId, ...settings, updatedAt: now })
    .onConflictDoUpdate({ target: signInSettings.organizationId, set: { ...settings, updatedAt: now } });
}

/** Whether the organization has an enabled provider that can sign people in instead of a password. */
export async function hasEnabledProvider(services: Services, organizationId: string): Promise<boolean> {
  const [row] = await services.db
    .select({ id: identityProviders.id })
    .from(identityProviders)
    .where(and(eq(identityProviders.organizationId, organizationId), eq(identityProviders.enabled, true)))
    .limit(1);
  return row !== undefined;
}

/**
 * Whether a person of this role may sign in with a password here. With password sign-in off or
 * SSO required, only super_admins keep it: they are the way back in when a provider breaks, and
 * the ones who can switch password sign-in on again.
 */
export function passwordSignInAllowed(settings: SignInSettings, role: Role): boolean {
  if (settings.passwordEnabled && !settings.requireSso) return true;
  return role === 'super_admin';
}
