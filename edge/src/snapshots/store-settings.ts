/**
 * The install's snapshot store: where snapshots go, their schedule and retention. One row
 * (`snapshot_store`, id `default`); defaults when none was saved. The S3 secret is sealed
 * (SecretBox, purpose `snapshot-store`) and opened only for a runner's own access call.
 */
import { createHash } from 'node:crypto';
import {
  DEFAULT_SNAPSHOT_INTERVAL_MINUTES,
  DEFAULT_SNAPSHOT_RETENTION,
  type SnapshotStoreAccess,
  SnapshotStoreSettings,
} from '@keel/contract/snapshots';
import { snapshotStore } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import type { Database } from '../services/database.ts';
import type { Services } from '../services.ts';

export const SNAPSHOT_STORE_ID = 'default';
/** The SecretBox purpose of the store's secret: a value sealed for anything else does not open here. */
export const SNAPSHOT_STORE_PURPOSE = 'snapshot-store';

export interface StoredSnapshotStore {
  store: SnapshotStoreSettings;
  secretSealed: string | null;
  secretFingerprint: string | null;
  intervalMinutes: number;
  retention: number;
  onStop: boolean;
  updatedAt: Date | null;
}

export const DEFAULT_SNAPSHOT_STORE: StoredSnapshotStore = {
  store: { kind: 'folder', path: null },
  secretSealed: null,
  secretFingerprint: null,
  intervalMinutes: DEFAULT_SNAPSHOT_INTERVAL_MINUTES,
  retention: DEFAULT_SNAPSHOT_RETENTION,
  onStop: true,
  updatedAt: null,
};

/**
 * The store as saved, or the defaults. A stored document that no longer parses counts as the
 * default folder store: a damaged row never sends snapshots (or a secret) somewhere unknown.
 */
export async function loadSnapshotStore(db: Database): Promise<StoredSnapshotStore> {
  const [row] = await db.select().from(snapshotStore).where(eq(snapshotStore.id, SNAPSHOT_STORE_ID)).limit(1);
  if (!row) return DEFAULT_SNAPSHOT_STORE;
  const parsed = SnapshotStoreSettings.safeParse(row.store);
  if (!parsed.success) return { ...DEFAULT_SNAPSHOT_STORE, updatedAt: row.updatedAt };
  return {
    store: parsed.data,
    secretSealed: parsed.data.kind === 's3' ? row.secretSealed : null,
    secretFingerprint: parsed.data.kind === 's3' ? row.secretFingerprint : null,
    intervalMinutes: row.intervalMinutes,
    retention: row.retention,
    onStop: row.onStop,
    updatedAt: row.updatedAt,
  };
}

export async function saveSnapshotStore(
  db: Database,
  value: Omit<StoredSnapshotStore, 'updatedAt'>,
  by: string | null,
  at: Date,
): Promise<void> {
  const set = {
    store: value.store as Record<string, unknown>,
    secretSealed: value.secretSealed,
    secretFingerprint: value.secretFingerprint,
    intervalMinutes: value.intervalMinutes,
    retention: value.retention,
    onStop: value.onStop,
    updatedBy: by,
    updatedAt: at,
  };
  await db
    .insert(snapshotStore)
    .values({ id: SNAPSHOT_STORE_ID, ...set })
    .onConflictDoUpdate({ target: snapshotStore.id, set });
}

/** What may be shown of a secret: a hash of it, the same form as servers' credential fingerprints. */
export function secretFingerprint(secret: string): string {
  return `SHA256:${createHash('sha256').update(secret).digest('base64').replace(/=+$/, '')}`;
}

export async function sealStoreSecret(
  services: Pick<Services, 'box'>,
  secret: string,
): Promise<{ secretSealed: string; secretFingerprint: string }> {
  return {
    secretSealed: await services.box.seal(secret, SNAPSHOT_STORE_PURPOSE),
    secretFingerprint: secretFingerprint(secret),
  };
}

/** The access a runner gets: the store with its secret opened. Undefined for an s3 store with no secret. */
export async function storeAccess(
  services: Pick<Services, 'box'>,
  stored: StoredSnapshotStore,
): Promise<SnapshotStoreAccess | undefined> {
  const { store } = stored;
  if (store.kind === 'folder') return { kind: 'folder', path: store.path };
  if (!stored.secretSealed) return undefined;
  return {
    kind: 's3',
    endpoint: store.endpoint,
    region: store.region,
    bucket: store.bucket,
    prefix: store.prefix,
    forcePathStyle: store.forcePathStyle,
    accessKeyId: store.accessKeyId,
    secretAccessKey: await services.box.open(stored.secretSealed, SNAPSHOT_STORE_PURPOSE),
  };
}
