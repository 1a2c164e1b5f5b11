/**
 * Which placement policy applies to an organization: its own (`organizations.placement_policy`)
 * or, when it set none, the install's default (the install settings' `placementPolicy`).
 */
import { PlacementPolicy } from '@keel/contract/placement';
import { installSettings, organizations } from '@keel/drizzle/schema';
import { eq, type SQLWrapper, sql } from 'drizzle-orm';
import { DEFAULT_INSTALL_SETTINGS, INSTALL_SETTINGS_ID } from '../install/settings.ts';
import type { Services } from '../services.ts';

export interface PolicyView {
  /** The organization's own policy; null: it follows the install's default. */
  policy: PlacementPolicy | null;
  installDefault: PlacementPolicy;
  effective: PlacementPolicy;
}

/** A stored document that no longer parses counts as absent, so a damaged row never narrows or widens placement by surprise. */
function parsed(value: unknown): PlacementPolicy | null {
  if (value === null || value === undefined) return null;
  const p = PlacementPolicy.safeParse(typeof value === 'string' ? safeJson(value) : value);
  return p.success ? p.data : null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The two stored documents as columns of a query: the organization's policy and the install's
 * settings. Placement reads them beside its runners (see candidates.ts), so a decision pays for
 * one round trip to PostgreSQL.
 */
export function policyColumns(organizationId: SQLWrapper | string) {
  return {
    orgPolicy: sql<unknown>`(select ${organizations.placementPolicy} from ${organizations} where ${organizations.id} = ${organizationId})`,
    installSettings: sql<unknown>`(select ${installSettings.settings} from ${installSettings} where ${installSettings.id} = ${INSTALL_SETTINGS_ID})`,
  };
}

/** The view from the two stored documents as `policyColumns` reads them. */
export function policyView(orgPolicy: unknown, installStored: unknown): PolicyView {
  const policy = parsed(orgPolicy);
  const install = typeof installStored === 'string' ? safeJson(installStored) : installStored;
  const stored = install as { placementPolicy?: unknown } | null | undefined;
  const installDefault = parsed(stored?.placementPolicy) ?? DEFAULT_INSTALL_SETTINGS.placementPolicy;
  return { policy, installDefault, effective: policy ?? installDefault };
}

/** Both documents in one round trip. */
export async function loadPolicy(services: Services, organizationId: string): Promise<PolicyView> {
  const [row] = await services.db.select(policyColumns(organizationId)).from(sql`(select 1) as one`);
  return policyView(row?.orgPolicy, row?.installSettings);
}

export async function saveOrgPolicy(
  services: Services,
  organizationId: string,
  policy: PlacementPolicy | null,
): Promise<void> {
  await services.db
    .update(organizations)
    .set({ placementPolicy: policy })
    .where(eq(organizations.id, organizationId));
}
