import { cacheEntryKey, cacheVersionKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';

/**
 * Read-through caches in Redis with version keys: a write bumps the version, so every
 * cached entry of the old version is dead at once without scanning for keys.
 */
export const WORKSPACE_LIST_TTL_SECONDS = 300;
export const FILE_TREE_TTL_SECONDS = 60;

export async function cached<T>(
  services: Services,
  scope: string,
  key: string,
  ttlSeconds: number,
  load: () => Promise<T>,
  /** Where the version lives, when someone other than the edge bumps it (the runner). */
  versionAt: string = cacheVersionKey(services, scope),
): Promise<T> {
  const redis = services.redis();
  const version = (await redis.get(versionAt)) ?? '0';
  const full = cacheEntryKey(services, scope, version, key);
  // Sealed (see cache-seal.ts): a list or tree written straight into Redis is read as a miss.
  const hit = await services.cacheSeal.open(full, await redis.get(full));
  if (hit !== undefined) return JSON.parse(hit) as T;
  const value = await load();
  await redis.set(full, await services.cacheSeal.seal(full, JSON.stringify(value)), 'EX', ttlSeconds);
  return value;
}

export async function invalidate(services: Services, scope: string, versionAt?: string): Promise<void> {
  await services.redis().incr(versionAt ?? cacheVersionKey(services, scope));
}

export const listScope = (organizationId: string) => `wslist:${organizationId}`;
/**
 * A workspace's trees, per placement: its files' version lives under its runner's keys and
 * starts again at 0 on the runner it moves to, so a tree cached before a move must never be
 * found after it.
 */
export const treeScope = (row: { id: string; runnerId: string | null; generation?: number }) =>
  `tree:${row.id}:${row.runnerId ?? 'none'}:${row.generation ?? 1}`;
