/**
 * The snapshot store as the edge describes it now (`GET /api/runners/snapshot-store`), opened
 * and kept for a minute: snapshots come in bursts (a drain, a schedule), and each fetch of an
 * S3 store's access is audited at the edge. The access (with its secret) lives only in this
 * memory: it is never logged, written, or put in an error.
 */
import type { SnapshotStoreAccess } from '@keel/contract/snapshots';
import { snapshotDir } from '../env.ts';
import type { RunnerContext } from '../runner-context.ts';
import { fetchSnapshotStore } from './edge-calls.ts';
import { FolderStore } from './folder-store.ts';
import type { SnapshotStore } from './store.ts';

export const STORE_ACCESS_TTL_MS = 60_000;

export interface OpenStore {
  store: SnapshotStore;
  /** Whether a stop saves a snapshot first. */
  onStop: boolean;
}

interface Cached extends OpenStore {
  at: number;
  /** The access it was opened with, to reuse the client while nothing changed. */
  fingerprint: string;
}

/** Keyed by the runner's credential, not by the context: each job sees the context through a view of its own (handlers/index.ts). */
const cache = new WeakMap<object, Cached>();

/** Opens a store from its access; an S3 client is loaded only now (it stays out of the main bundle). */
export async function openStore(access: SnapshotStoreAccess, defaultDir: string): Promise<SnapshotStore> {
  if (access.kind === 'folder') return new FolderStore(access.path ?? defaultDir);
  const { S3Store } = await import('./s3-store.ts');
  return new S3Store(access);
}

/** This runner's store, fetched from the edge at most once a minute. */
export async function storeFor(ctx: RunnerContext, now = Date.now()): Promise<OpenStore> {
  const hit = cache.get(ctx.credential);
  if (hit && now - hit.at < STORE_ACCESS_TTL_MS) return hit;
  const { access, onStop } = await fetchSnapshotStore(ctx.edge);
  const fingerprint = JSON.stringify(access);
  let store: SnapshotStore;
  if (hit && hit.fingerprint === fingerprint) store = hit.store;
  // The old client is left to go: a snapshot in flight may still be using it.
  else store = await openStore(access, snapshotDir(ctx.config));
  const entry: Cached = { store, onStop, at: now, fingerprint };
  cache.set(ctx.credential, entry);
  return entry;
}

/** Forgets the cached access (its secret with it). */
export function forgetStore(ctx: RunnerContext): void {
  closeStore(cache.get(ctx.credential)?.store);
  cache.delete(ctx.credential);
}

function closeStore(store: SnapshotStore | undefined): void {
  (store as { close?: () => void } | undefined)?.close?.();
}
