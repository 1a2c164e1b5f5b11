const LOCK_NAME = 'keel-auth-refresh';

/**
 * Serialises token refreshes across the tabs of one browser with the Web Locks API. Without it, two tabs
 * waking up together would spend the same rotating refresh token twice, and the server treats reuse as
 * theft and revokes the whole token family. Browsers without Web Locks simply refresh unguarded.
 */
export async function withBrowserRefreshLock<T>(refresh: () => Promise<T>): Promise<T> {
  const locks = globalThis.navigator?.locks;
  if (locks === undefined) return refresh();
  let result: { value: T } | undefined;
  await locks.request(LOCK_NAME, async () => {
    result = { value: await refresh() };
  });
  // request() resolves only after the callback did, so a missing result means it threw (and we rethrew).
  return result!.value;
}
