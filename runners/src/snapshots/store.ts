/**
 * Where snapshot chunks and manifests are kept: a folder, or an S3-compatible bucket. Keys are
 * the contract's (`snapshotStoreKeys`): relative, `/`-separated plain names, checked here so
 * that no key reaches outside the store's root whatever produced it.
 */

export interface StoredObject {
  key: string;
  /** When it was last written (or, for a folder, last found present by a snapshot). */
  modifiedMs: number;
}

export interface SnapshotStore {
  readonly kind: 'folder' | 's3';
  /** Whether the object is there. */
  has(key: string): Promise<boolean>;
  /** Its bytes, or undefined when missing; one larger than maxBytes is refused. */
  get(key: string, maxBytes: number): Promise<Buffer | undefined>;
  /**
   * Its bytes read into `into` (the start of it, returned as a view), or undefined when
   * missing; one larger than `into` is refused. Optional: a restore reuses a few buffers
   * through it instead of one fresh buffer per chunk (see tar-writer.ts).
   */
  getInto?(key: string, into: Buffer): Promise<Buffer | undefined>;
  /** Written whole or not at all: a reader never sees half an object. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Missing keys are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Every object under a prefix (`chunks/`, `manifests/`). */
  list(prefix: string): AsyncIterable<StoredObject>;
}

export class SnapshotStoreError extends Error {
  override name = 'SnapshotStoreError';
}

const KEY = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Refuses a key that is not relative plain names (no `..`, no leading `/`, no empty part). */
export function assertStoreKey(key: string): void {
  if (key.length > 512 || !KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
    throw new SnapshotStoreError(`not a snapshot store key: ${JSON.stringify(key.slice(0, 80))}`);
  }
}
