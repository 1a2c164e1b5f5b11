/**
 * A checked manifest's entries as a tar stream: folders, then files cut from their chunks (a
 * chunk may hold many small files, a file may span many chunks), then links. Chunks are
 * fetched a few ahead of the writer, in order, and each is verified against its hash and
 * expected length before a byte of it is written.
 *
 * Written by hand, not with tar-stream's pack, for the runner's CPU: headers (tar-headers.ts,
 * the same bytes the pack wrote) and small files are copied into 512 KiB blocks, one stream
 * item each; a piece of a file of 64 KiB or more goes out as a view of its verified chunk,
 * never copied. Chunks are read into a few reused buffers (the store's `getInto`) and hashed on
 * the hashing thread in place; blocks are reused too. A buffer goes back into use once the
 * writer is done with it and every piece of it in the stream was taken by the driver's
 * connection (taken-input.ts, reused-buffers.ts): a 200 MB restore then allocates a few MiB
 * instead of some 200 MB, and the collector does not run at all. Runner CPU per 200 MB restore
 * into a Docker workspace, 2 shared cores: 0.85 s with the pack, 0.67 s with fresh buffers
 * per lent chunk, 0.42 s now (docs/PERFORMANCE.md).
 */
import { Readable } from 'node:stream';
import { type ManifestChunk, snapshotStoreKeys } from '@keel/contract/snapshots';
import { chunkHasher, sha256Hex } from './chunk-hasher.ts';
import type { CheckedManifest } from './entry-checks.ts';
import { ReusedBuffers } from './reused-buffers.ts';
import type { SnapshotStore } from './store.ts';
import { END_OF_ARCHIVE, encodeHeader, paddingAfter, type TarHeader } from './tar-headers.ts';

/** No set-user or set-group id bits are ever restored, whatever a manifest says. */
const SAFE_MODE = 0o1777;
/** Each item of the stream: large enough that the pipes' per-item costs vanish, small enough to keep few in flight. */
export const OUTPUT_BLOCK_BYTES = 512 * 1024;

/**
 * A piece of a file this long or longer (within one chunk) goes into the stream as a view of
 * its chunk, not copied into a block: a large file is never copied in the runner.
 */
const LEND_MIN_BYTES = 64 * 1024;

export class ChunkError extends Error {
  override name = 'ChunkError';
}

/**
 * Fetches and verifies chunks `ahead` at a time, handing them out in order. With a store that
 * reads into a given buffer, chunks are read into reused buffers (see ReusedBuffers): the one
 * handed out last is let go by the next call to `next` (the writer has cut it by then), and
 * the pieces the writer lends to the stream hold it until they are written. Those buffers'
 * memory is shared, so their SHA-256 is taken on the hashing thread while this one writes.
 */
function prefetcher(store: SnapshotStore, plan: ManifestChunk[], ahead: number) {
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  let largest = 0;
  for (const c of plan) largest = Math.max(largest, c.size);
  const buffers = new ReusedBuffers(largest, true);
  let handedOut: Buffer | undefined;
  const fetchOne = async ({ hash, size }: ManifestChunk): Promise<Buffer> => {
    const key = snapshotStoreKeys.chunk(hash);
    let data: Buffer | undefined;
    let got: string | undefined;
    if (store.getInto) {
      const pooled = buffers.take();
      try {
        data = await store.getInto(key, pooled.subarray(0, size));
        // In place on the hashing thread: nothing else touches the buffer until this settles.
        if (data?.byteLength === size) got = (await chunkHasher.hash(data, true)).hash;
      } finally {
        if (got !== hash) buffers.release(pooled);
      }
    } else {
      data = await store.get(key, size);
      if (data?.byteLength === size) got = sha256Hex(data);
    }
    if (!data) throw new ChunkError(`chunk ${hash} is missing from the snapshot store`);
    if (got !== hash) throw new ChunkError(`chunk ${hash} in the snapshot store does not match its hash`);
    return data;
  };
  const fill = () => {
    while (pending.length < ahead && next < plan.length) {
      const p = fetchOne(plan[next]!);
      next++;
      p.catch(() => {});
      pending.push(p);
    }
  };
  return {
    async next(): Promise<Buffer> {
      if (handedOut) buffers.release(handedOut);
      handedOut = undefined;
      fill();
      const p = pending.shift();
      if (!p) throw new ChunkError('the files hold more bytes than their chunks');
      fill();
      const data = await p;
      if (store.getInto) handedOut = data;
      return data;
    },
    /** A piece of the chunk handed out last, about to go into the stream as it is. */
    lend(piece: Buffer): void {
      buffers.lend(piece);
    },
    /** Chunks not handed out yet. */
    left: () => plan.length - next + pending.length,
    /** Chunk buffers made: reuse keeps this near `ahead` plus the pieces in flight. */
    made: () => buffers.made,
  };
}

export interface WriteStats {
  files: number;
  bytes: number;
}

/** Headers and file bytes gathered into output blocks. */
class BlockOut {
  private readonly blocks: ReusedBuffers;
  private block: Buffer;
  private used = 0;

  constructor(private readonly size: number) {
    this.blocks = new ReusedBuffers(size);
    this.block = this.blocks.take();
  }

  /** Copies as much of `src` as the block holds; returns how much. */
  put(src: Buffer, from = 0, to = src.length): number {
    const n = Math.min(to - from, this.size - this.used);
    src.copy(this.block, this.used, from, from + n);
    this.used += n;
    return n;
  }

  zeros(n: number): number {
    const k = Math.min(n, this.size - this.used);
    this.block.fill(0, this.used, this.used + k);
    this.used += k;
    return k;
  }

  get full(): boolean {
    return this.used === this.size;
  }

  /**
   * The block so far, handed over (lent until written) and replaced by another; a block a
   * quarter full or less (headers before a piece that goes out as it is) is copied out and
   * kept instead.
   */
  take(): Buffer {
    let out: Buffer;
    if (this.used * 4 <= this.size) {
      out = Buffer.allocUnsafe(this.used);
      this.block.copy(out, 0, 0, this.used);
    } else {
      out = this.used === this.size ? this.block : this.block.subarray(0, this.used);
      this.blocks.lend(out, true);
      this.block = this.blocks.take();
    }
    this.used = 0;
    return out;
  }

  get empty(): boolean {
    return this.used === 0;
  }
}

/** The tar stream of a checked manifest (see checkManifest). */
export function manifestTar(
  store: SnapshotStore,
  checked: CheckedManifest,
  stats: WriteStats = { files: 0, bytes: 0 },
  opts: { blockBytes?: number; now?: Date; onDone?: (chunkBuffers: number) => void } = {},
): Readable {
  return Readable.from(tarBlocks(store, checked, stats, opts), {
    objectMode: false,
    highWaterMark: 1,
  });
}

async function* tarBlocks(
  store: SnapshotStore,
  { ordered, chunks }: CheckedManifest,
  stats: WriteStats,
  opts: { blockBytes?: number; now?: Date; onDone?: (chunkBuffers: number) => void },
): AsyncGenerator<Buffer> {
  const fetcher = prefetcher(store, chunks, store.kind === 's3' ? 8 : 4);
  const out = new BlockOut(opts.blockBytes ?? OUTPUT_BLOCK_BYTES);
  /** Room for any header: a PAX path and link target of 4,096 characters each fit. */
  const scratch = Buffer.alloc(64 * 1024);
  /** Links carry the time of the restore (their own is not kept), as the pack gave them. */
  const linkTime = (opts.now ?? new Date()).getTime();
  /** The chunk being cut into files, and how much of it is used. */
  let chunk: Buffer = Buffer.alloc(0);
  let used = 0;

  /** Bytes into the blocks, each full block handed on as it fills. */
  async function* write(src: Buffer, from: number, to: number): AsyncGenerator<Buffer> {
    while (from < to) {
      from += out.put(src, from, to);
      if (out.full) yield out.take();
    }
  }
  async function* zeros(n: number): AsyncGenerator<Buffer> {
    while (n > 0) {
      n -= out.zeros(n);
      if (out.full) yield out.take();
    }
  }
  async function* header(h: TarHeader): AsyncGenerator<Buffer> {
    const bytes = encodeHeader(h, scratch);
    yield* write(bytes, 0, bytes.length);
  }

  for (const e of ordered) {
    if (e.type === 'directory') {
      yield* header({
        name: e.path,
        type: 'directory',
        mode: e.mode & SAFE_MODE,
        size: 0,
        mtimeMs: e.mtimeMs,
      });
      continue;
    }
    if (e.type === 'symlink') {
      yield* header({
        name: e.path,
        type: 'symlink',
        mode: 0o777,
        size: 0,
        mtimeMs: linkTime,
        linkname: e.target,
      });
      continue;
    }
    // Its first bytes are verified before the entry begins: a file that lies in a corrupt
    // chunk is never made at all.
    if (e.size > 0 && used === chunk.length) {
      chunk = await fetcher.next();
      used = 0;
    }
    yield* header({ name: e.path, type: 'file', mode: e.mode & SAFE_MODE, size: e.size, mtimeMs: e.mtimeMs });
    let left = e.size;
    while (left > 0) {
      if (used === chunk.length) {
        chunk = await fetcher.next();
        used = 0;
      }
      const n = Math.min(left, chunk.length - used);
      if (n >= LEND_MIN_BYTES) {
        if (!out.empty) yield out.take();
        const piece = chunk.subarray(used, used + n);
        fetcher.lend(piece);
        yield piece;
      } else {
        yield* write(chunk, used, used + n);
      }
      used += n;
      left -= n;
    }
    yield* zeros(paddingAfter(e.size));
    stats.files++;
    stats.bytes += e.size;
  }
  // checkManifest makes the sizes add up; a writer that disagrees is a bug, not a restore.
  if (used !== chunk.length || fetcher.left() > 0) {
    throw new ChunkError('the chunks hold more bytes than the files');
  }
  yield* zeros(END_OF_ARCHIVE);
  if (!out.empty) yield out.take();
  opts.onDone?.(fetcher.made());
}
