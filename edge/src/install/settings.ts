import { InstallSettings } from '@keel/contract/install';
import { installSettings } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import type { Database } from '../services/database.ts';

/** The one settings document's row id. */
export const INSTALL_SETTINGS_ID = 'install';

export const DEFAULT_INSTALL_SETTINGS: InstallSettings = InstallSettings.parse({});

export interface StoredInstallSettings {
  settings: InstallSettings;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/**
 * The install's settings, defaults where none were saved. A stored document that no longer
 * parses counts as the defaults (no workspace network, no private destinations), so a
 * damaged row never opens anything.
 */
export async function loadInstallSettings(db: Database): Promise<StoredInstallSettings> {
  const [row] = await db
    .select()
    .from(installSettings)
    .where(eq(installSettings.id, INSTALL_SETTINGS_ID))
    .limit(1);
  if (!row) return { settings: DEFAULT_INSTALL_SETTINGS, updatedAt: null, updatedBy: null };
  const parsed = InstallSettings.safeParse(row.settings);
  return {
    settings: parsed.success ? parsed.data : DEFAULT_INSTALL_SETTINGS,
    updatedAt: row.updatedAt,
    updatedBy: row.updatedBy,
  };
}

export async function saveInstallSettings(
  db: Database,
  settings: InstallSettings,
  by: string,
  at: Date,
): Promise<void> {
  await db
    .insert(installSettings)
    .values({ id: INSTALL_SETTINGS_ID, settings, updatedBy: by, updatedAt: at })
    .onConflictDoUpdate({ target: installSettings.id, set: { settings, updatedBy: by, updatedAt: at } });
}
