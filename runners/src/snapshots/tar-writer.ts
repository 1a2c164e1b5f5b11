/**
 * A checked manifest's entries as a tar stream (tar-stream's pack): folders, then files cut
 * from their chunks (a chunk may hold many small files, a file may span many chunks), then
 * links. Chunks are fetched a few ahead of the writer, in order, and each is verified against
 * its hash and expected length before a byte of it is written.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type ManifestChunk, snapshotStoreKeys } from '@keel/contract/snapshots';
import { pack } from 'tar-stream';
import type { CheckedManifest } from './entry-checks.ts';
import type { SnapshotStore } from './store.ts';

/** No set-user or set-group id bits are ever restored, whatever a manifest says. */
const SAFE_MODE = 0o1777;

export class ChunkError extends Error {
  override name = 'ChunkError';
}

/** Fetches and verifies chunks `ahead` at a time, handing them out in order. */
function prefetcher(store: SnapshotStore, plan: ManifestChunk[], ahead: number) {
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const fetchOne = async ({ hash, size }: ManifestChunk): Promise<Buffer> => {
    const data = await store.get(snapshotStoreKeys.chunk(hash), size);
    if (!data) throw new ChunkError(`chunk ${hash} is missing from the snapshot store`);
    if (data.byteLength !== size || createHash('sha256').update(data).digest('hex') !== hash) {
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
  return {
    async next(): Promise<Buffer> {
      fill();
      const p = pending.shift();
      if (!p) throw new ChunkError('the files hold more bytes than their chunks');
      fill();
      return p;
    },
    /** Chunks not handed out yet. */
    left: () => plan.length - next + pending.length,
  };
}

export interface WriteStats {
  files: number;
  bytes: number;
}

/** The tar stream of a checked manifest (see checkManifest). */
export function manifestTar(
  store: SnapshotStore,
  { ordered, chunks }: CheckedManifest,
  stats: WriteStats = { files: 0, bytes: 0 },
): Readable {
  const p = pack();
  const fetcher = prefetcher(store, chunks, store.kind === 's3' ? 8 : 4);
  /** The chunk being cut into files, and how much of it is used. */
  let chunk: Buffer = Buffer.alloc(0);
  let used = 0;
  const ready = async () => {
    if (used === chunk.length) {
      chunk = await fetcher.next();
      used = 0;
    }
  };
  const fail = (err: unknown) => p.destroy(err instanceof Error ? err : new Error(String(err)));
  (async () => {
    for (const e of ordered) {
      if (e.type === 'directory') {
        await added(p, {
          name: e.path,
          type: 'directory',
          mode: e.mode & SAFE_MODE,
          mtime: new Date(e.mtimeMs),
        });
        continue;
      }
      if (e.type === 'symlink') {
        await added(p, { name: e.path, type: 'symlink', linkname: e.target, mode: 0o777 });
        continue;
      }
      const header = {
        name: e.path,
        type: 'file' as const,
        size: e.size,
        mode: e.mode & SAFE_MODE,
        mtime: new Date(e.mtimeMs),
      };
      // Its first bytes are verified before the entry begins: a file that lies in a corrupt
      // chunk is never made at all.
      if (e.size > 0) await ready();
      if (chunk.length - used >= e.size) {
        // Within one chunk (most small files): handed over whole, as a view of it.
        await added(p, header, chunk.subarray(used, used + e.size));
        used += e.size;
      } else {
        let done!: (err?: Error | null) => void;
        const written = new Promise<void>((resolve, reject) => {
          done = (err) => (err ? reject(err) : resolve());
        });
        // A failure below destroys the pack, which fails this entry too: reported once, by `fail`.
        written.catch(() => {});
        const w = p.entry(header, done);
        // A failure below destroys the pack, and the pack this entry, which then emits the
        // error too: with no listener that would throw out of the runner.
        w.on('error', () => {});
        let left = e.size;
        while (left > 0) {
          await ready();
          const n = Math.min(left, chunk.length - used);
          const ok = w.write(chunk.subarray(used, used + n));
          used += n;
          left -= n;
          if (!ok) await new Promise<void>((resolve) => w.once('drain', () => resolve()));
        }
        w.end(() => {});
        await written;
      }
      stats.files++;
      stats.bytes += e.size;
    }
    // checkManifest makes the sizes add up; a writer that disagrees is a bug, not a restore.
    if (used !== chunk.length || fetcher.left() > 0) {
      throw new ChunkError('the chunks hold more bytes than the files');
    }
    p.finalize();
  })().catch(fail);
  return p as unknown as Readable;
}

function added(
  p: ReturnType<typeof pack>,
  header: Parameters<ReturnType<typeof pack>['entry']>[0],
  data?: Buffer,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    const sink = data ? p.entry(header, data, done) : p.entry(header, done);
    // Reported through `done` (and once more by the pack): not an uncaught error.
    sink.on('error', () => {});
  });
}
