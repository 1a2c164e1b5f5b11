import { cacheEntryKey, cacheVersionKey } from '../redis-keys.ts';
import { keptJoins, setBounded } from '../services/bounded-map.ts';
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
  return (await readThrough(services, versionAt, scope, key, ttlSeconds, load)).value;
}

/** The entry of the scope's current version, or the value loaded and stored for it. */
async function readThrough<T>(
  services: Services,
  versionAt: string,
  scope: string,
  key: string,
  ttlSeconds: number,
  load: () => Promise<T>,
): Promise<{ version: string; value: T }> {
  const redis = services.commands;
  const version = (await redis.send<string | null>(['GET', versionAt])) ?? '0';
  const full = cacheEntryKey(services, scope, version, key);
  // Sealed (see cache-seal.ts): a list or tree written straight into Redis is read as a miss.
  const hit = await services.cacheSeal.open(full, await redis.send<string | null>(['GET', full]));
  services.metrics.cacheRead('cached_entry', hit !== undefined);
  if (hit !== undefined) return { version, value: JSON.parse(hit) as T };
  const value = await load();
  const sealed = await services.cacheSeal.seal(full, JSON.stringify(value));
  await redis.send(['SET', full, sealed, 'EX', ttlSeconds]);
  return { version, value };
}

/** How long a value read through `cachedAlongside` is reused from memory while its version stands. */
export const REMEMBERED_MS = 5_000;
/** Values remembered per process at most; past this the oldest is forgotten first. */
const REMEMBERED_MAX = 256;

interface Remembered {
  version: string;
  value: unknown;
  /** The keys read alongside the value (they depend on it, so they are kept with it). */
  alongside: string[];
  untilMs: number;
}

/**
 * Per `services` (once per process on Node, per request in workerd, where nothing is then
 * remembered across requests): plain data, no I/O objects, never shared between two edges in
 * one process (tests run several).
 */
const remembered = new WeakMap<Services, Map<string, Remembered>>();

/**
 * `cached`, for a value read on every request together with keys that depend on it (the
 * workspace list and its live statuses): the value last read is kept in memory with its
 * version for REMEMBERED_MS, and then one MGET reads the version and those keys at once
 * (through `services.reads`, which Redis tells of every change to them), so a write anywhere
 * (any edge's `invalidate`) acts at once; what memory saves is the entry's round trip, its
 * seal check and its parse, not a moment of staleness. On a version change, or once forgotten, it reads as `cached` does.
 *
 * The value is shared by the requests that reuse it: callers must not change it.
 */
export async function cachedAlongside<T>(
  services: Services,
  scope: string,
  key: string,
  ttlSeconds: number,
  load: () => Promise<T>,
  alongside: (value: T) => string[],
  /** Values read already (see `alongsideReads`): when they cover the round trip, it is not made. */
  readEarlier?: ReadEarlier,
): Promise<{ value: T; alongside: Array<string | null> }> {
  const versionAt = cacheVersionKey(services, scope);
  let memo = remembered.get(services);
  if (!memo) {
    memo = new Map();
    remembered.set(services, memo);
  }
  const known = memo.get(rememberedId(scope, key));
  if (known && known.untilMs > Date.now()) {
    const [version, ...values] =
      (readEarlier && valuesRead(readEarlier, versionAt, known.alongside)) ??
      (await services.reads.mget([versionAt, ...known.alongside]));
    if ((version ?? '0') === known.version) {
      services.metrics.cacheRead('workspace_list', true);
      return { value: known.value as T, alongside: values };
    }
  }
  services.metrics.cacheRead('workspace_list', false);
  const { version, value } = await readThrough(services, versionAt, scope, key, ttlSeconds, load);
  const keys = alongside(value);
  const values = keys.length > 0 ? await services.commands.send<Array<string | null>>(['MGET', ...keys]) : [];
  setBounded(
    memo,
    rememberedId(scope, key),
    { version, value, alongside: keys, untilMs: Date.now() + REMEMBERED_MS },
    REMEMBERED_MAX,
  );
  return { value, alongside: values };
}

/** Kept once made (read on every list): as many scopes and keys as values are remembered. */
const rememberedId = keptJoins((scope, key) => `${scope}\n${key}`, REMEMBERED_MAX, REMEMBERED_MAX);

/** A key's value as read already (null: Redis has none), or undefined when it was not read. */
export type ReadEarlier = (key: string) => string | null | undefined;

/** The version's value and then the alongside keys', if `readEarlier` has every one of them. */
function valuesRead(
  readEarlier: ReadEarlier,
  versionAt: string,
  alongside: readonly string[],
): Array<string | null> | undefined {
  const out: Array<string | null> = new Array(alongside.length + 1);
  for (let i = 0; i <= alongside.length; i++) {
    const v = readEarlier(i === 0 ? versionAt : alongside[i - 1]!);
    if (v === undefined) return undefined;
    out[i] = v;
  }
  return out;
}

/**
 * What `cachedAlongside` answers without a round trip, without waiting: the value remembered
 * with the version `readEarlier` still reads, and its alongside keys as read there. Undefined
 * when `cachedAlongside` would read Redis (nothing remembered, a key not read, a new version).
 */
export function rememberedAlongside<T>(
  services: Services,
  scope: string,
  key: string,
  readEarlier: ReadEarlier,
): { value: T; alongside: Array<string | null> } | undefined {
  const known = remembered.get(services)?.get(rememberedId(scope, key));
  if (!known || known.untilMs <= Date.now()) return undefined;
  const read = valuesRead(readEarlier, cacheVersionKey(services, scope), known.alongside);
  if (!read || (read[0] ?? '0') !== known.version) return undefined;
  services.metrics.cacheRead('workspace_list', true);
  return { value: known.value as T, alongside: read.slice(1) };
}

/**
 * What `cachedAlongside` would read in its one round trip for any of `keys` of `scope`: the
 * version, and the keys read alongside each value remembered now. For a caller that can read
 * them earlier in a round trip of its own (the session check: see confirmSessionReading) and
 * pass them on as `readEarlier`.
 */
export function alongsideReads(services: Services, scope: string, keys: readonly string[]): string[] {
  const memo = remembered.get(services);
  // A few keys at most (a list's runners): an array, each once.
  const reads = [cacheVersionKey(services, scope)];
  const now = Date.now();
  for (const key of keys) {
    const known = memo?.get(rememberedId(scope, key));
    if (known && known.untilMs > now) for (const k of known.alongside) if (!reads.includes(k)) reads.push(k);
  }
  return reads;
}

export async function invalidate(services: Services, scope: string, versionAt?: string): Promise<void> {
  const key = versionAt ?? cacheVersionKey(services, scope);
  await services.commands.send(['INCR', key]);
  services.reads.forget([key]);
}

/** The organization's list's scope: kept per organization, as its version key is (redis-keys.ts). */
const listScopes = keptJoins((kind, organizationId) => `${kind}:${organizationId}`, 1, 10_000);
export const listScope = (organizationId: string) => listScopes('wslist', organizationId);
/**
 * A workspace's trees, per placement: its files' version lives under its runner's keys and
 * starts again at 0 on the runner it moves to, so a tree cached before a move must never be
 * found after it.
 */
export const treeScope = (row: { id: string; runnerId: string | null; generation?: number }) =>
  `tree:${row.id}:${row.runnerId ?? 'none'}:${row.generation ?? 1}`;
