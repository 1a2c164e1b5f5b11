/**
 * A checked manifest's entries as a tar stream (tar-stream's pack): folders, then files from
 * their chunks, then links. Chunks are fetched a few ahead of the writer and each is verified
 * against its hash and expected length before a byte of it is written.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type ManifestEntry, snapshotStoreKeys } from '@keel/contract/snapshots';
import { pack } from 'tar-stream';
import type { SnapshotStore } from './store.ts';

/** No set-user or set-group id bits are ever restored, whatever a manifest says. */
const SAFE_MODE = 0o1777;

export class ChunkError extends Error {
  override name = 'ChunkError';
}

/** Every chunk to read, in the order the files are written, with the length each must have. */
function chunkPlan(entries: ManifestEntry[], chunkBytes: number): { hash: string; length: number }[] {
  const plan: { hash: string; length: number }[] = [];
  for (const e of entries) {
    if (e.type !== 'file') continue;
    e.chunks.forEach((hash, i) => {
      plan.push({ hash, length: Math.min(chunkBytes, e.size - i * chunkBytes) });
    });
  }
  return plan;
}

/** Fetches and verifies chunks `ahead` at a time, handing them out in order. */
function prefetcher(store: SnapshotStore, plan: { hash: string; length: number }[], ahead: number) {
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const fetchOne = async ({ hash, length }: { hash: string; length: number }): Promise<Buffer> => {
    const data = await store.get(snapshotStoreKeys.chunk(hash), length);
    if (!data) throw new ChunkError(`chunk ${hash} is missing from the snapshot store`);
    if (data.byteLength !== length || createHash('sha256').update(data).digest('hex') !== hash) {
      throw new ChunkError(`chunk ${hash} in the snapshot store does not match its hash`);
    }
    return data;
  };
  const fill = () => {
    while (pending.length < ahead && next < plan.length) {
      const p = fetchOne(plan[next++]!);
      p.catch(() => {});
      pending.push(p);
    }
  };
  return async (): Promise<Buffer> => {
    fill();
    const p = pending.shift();
    if (!p) throw new ChunkError('more chunks asked for than the manifest names');
    fill();
    return p;
  };
}

export interface WriteStats {
  files: number;
  bytes: number;
}

/** The tar stream of `entries` (already checked and ordered, see checkManifest). */
export function manifestTar(
  store: SnapshotStore,
  entries: ManifestEntry[],
  chunkBytes: number,
  stats: WriteStats = { files: 0, bytes: 0 },
): Readable {
  const p = pack();
  const nextChunk = prefetcher(store, chunkPlan(entries, chunkBytes), store.kind === 's3' ? 8 : 4);
  const fail = (err: unknown) => p.destroy(err instanceof Error ? err : new Error(String(err)));
  (async () => {
    for (const e of entries) {
      if (e.type === 'directory') {
        await added(p, {
          name: e.path,
          type: 'directory',
          mode: e.mode & SAFE_MODE,
          mtime: new Date(e.mtimeMs),
        });
      } else if (e.type === 'symlink') {
        await added(p, { name: e.path, type: 'symlink', linkname: e.target, mode: 0o777 });
      } else {
        let done!: (err?: Error | null) => void;
        const written = new Promise<void>((resolve, reject) => {
          done = (err) => (err ? reject(err) : resolve());
        });
        // A failure below destroys the pack, which fails this entry too: reported once, by `fail`.
        written.catch(() => {});
        // The first chunk is verified before the entry begins: a file whose only chunk is
        // corrupt is never made at all.
        let data = e.chunks.length > 0 ? await nextChunk() : undefined;
        const w = p.entry(
          { name: e.path, type: 'file', size: e.size, mode: e.mode & SAFE_MODE, mtime: new Date(e.mtimeMs) },
          done,
        );
        for (let i = 0; i < e.chunks.length; i++) {
          data ??= await nextChunk();
          if (!w.write(data)) await new Promise<void>((resolve) => w.once('drain', () => resolve()));
          data = undefined;
        }
        w.end(() => {});
        await written;
        stats.files++;
        stats.bytes += e.size;
      }
    }
    p.finalize();
  })().catch(fail);
  return p as unknown as Readable;
}

function added(
  p: ReturnType<typeof pack>,
  header: Parameters<ReturnType<typeof pack>['entry']>[0],
): Promise<void> {
  return new Promise((resolve, reject) => {
    p.entry(header, (err) => (err ? reject(err) : resolve()));
  });
}
