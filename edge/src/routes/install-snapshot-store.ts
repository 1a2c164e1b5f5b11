import { snapshotRoutes as routes } from '@keel/contract/api/snapshots';
import type { SnapshotStoreResponse } from '@keel/contract/snapshots';
import { UpdateSnapshotStoreRequest } from '@keel/contract/snapshots';
import { Hono } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson } from '../http/validate.ts';
import {
  loadSnapshotStore,
  type StoredSnapshotStore,
  saveSnapshotStore,
  sealStoreSecret,
} from '../snapshots/store-settings.ts';

function storeView(stored: StoredSnapshotStore): z.infer<typeof SnapshotStoreResponse> {
  return {
    store: stored.store,
    secretFingerprint: stored.secretFingerprint,
    intervalMinutes: stored.intervalMinutes,
    retention: stored.retention,
    onStop: stored.onStop,
    updatedAt: stored.updatedAt?.toISOString() ?? null,
  };
}

/**
 * Where the install keeps snapshots (install administrators only, like the install's other
 * settings). The S3 secret is write-only: sealed when given, kept when not, never answered.
 */
export function installSnapshotStoreRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/install');

  on(routes.snapshotStore, async (c) => {
    const stored = await loadSnapshotStore(c.get('services').db);
    return reply(c, routes.snapshotStore, 200, storeView(stored));
  });

  on(routes.updateSnapshotStore, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const input = await readJson(c, UpdateSnapshotStoreRequest);
    const current = await loadSnapshotStore(services.db);
    let secret: { secretSealed: string | null; secretFingerprint: string | null };
    if (input.store.kind === 'folder') {
      if (input.secretAccessKey !== undefined) {
        throw new ApiError('validation_failed', 'Request body is invalid', [
          { path: 'secretAccessKey', message: 'a folder store takes no secret' },
        ]);
      }
      // A folder needs no secret: one left from an S3 store is not kept where nothing uses it.
      secret = { secretSealed: null, secretFingerprint: null };
    } else if (input.secretAccessKey !== undefined) {
      secret = await sealStoreSecret(services, input.secretAccessKey);
    } else if (current.secretSealed) {
      secret = { secretSealed: current.secretSealed, secretFingerprint: current.secretFingerprint };
    } else {
      throw new ApiError('validation_failed', 'Request body is invalid', [
        { path: 'secretAccessKey', message: 'an s3 store needs its secret access key when first set' },
      ]);
    }
    const next: Omit<StoredSnapshotStore, 'updatedAt'> = {
      store: input.store,
      ...secret,
      intervalMinutes: input.intervalMinutes ?? current.intervalMinutes,
      retention: input.retention ?? current.retention,
      onStop: input.onStop ?? current.onStop,
    };
    const now = services.clock.now();
    await saveSnapshotStore(services.db, next, p.userId, now);
    // Values only: the store's kind and schedule, whether the secret changed and its fingerprint.
    await appendAudit(services, {
      action: 'install.snapshot_store.update',
      outcome: 'success',
      actorId: p.userId,
      organizationId: null,
      metadata: {
        kind: next.store.kind,
        changed: Object.keys(input).sort().join(','),
        secretChanged: next.secretFingerprint !== current.secretFingerprint,
        secretFingerprint: next.secretFingerprint,
        intervalMinutes: next.intervalMinutes,
        retention: next.retention,
        onStop: next.onStop,
      },
    });
    return reply(c, routes.updateSnapshotStore, 200, storeView({ ...next, updatedAt: now }));
  });

  return app;
}
