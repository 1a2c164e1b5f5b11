/**
 * Turns a tar stream of `/workspace` into manifest entries and content-addressed chunks: every
 * regular file's bytes, one file after another, go through one content-defined chunker (see
 * content-chunker.ts), so a workspace of thousands of small files is a few hundred chunks, not
 * thousands of store objects. Each chunk is hashed (SHA-256) and written only when the store
 * lacks it. Folders, modes, times and links go in the manifest; other entry types (devices,
 * pipes, sockets) are skipped and counted, and so are links that lead outside `/workspace`,
 * which a restore would refuse.
 */
import type { Readable } from 'node:stream';
import { type ManifestChunk, type ManifestEntry, snapshotStoreKeys } from '@keel/contract/snapshots';
import { readOutputDirectly } from '../workloads/direct-output.ts';
import { chunkHasher } from './chunk-hasher.ts';
import { type ChunkingOptions, ContentChunker, DEFAULT_CHUNKING } from './content-chunker.ts';
import { linkTargetInside } from './entry-checks.ts';
import type { SnapshotStore } from './store.ts';
import { TarReader } from './tar-reader.ts';

export interface ChunkedTree {
  entries: ManifestEntry[];
  /** The files' bytes, in the entries' order. */
  chunks: ManifestChunk[];
  files: number;
  bytes: number;
  /** Chunk bytes this run wrote (chunks the store already had are not counted). */
  bytesWritten: number;
  chunksWritten: number;
  /** Entries that are not files, folders or links (devices, pipes). */
  skippedOther: number;
  /** Links whose target leads outside `/workspace`. */
  skippedLinks: number;
}

export interface ChunkOptions {
  chunking?: ChunkingOptions;
  /** Chunk writes in flight at once (the store's latency, not the disk, bounds an S3 store). */
  parallel?: number;
  /** Hashes known present in the store, shared by the runs that want it; filled as it goes. */
  known?: Set<string>;
}

/** Reads the whole tar stream; rejects on a malformed archive or a failed store write. */
export async function chunkTree(
  tar: Readable,
  store: SnapshotStore,
  opts: ChunkOptions = {},
): Promise<ChunkedTree> {
  const known = opts.known ?? new Set<string>();
  const parallel = Math.max(1, opts.parallel ?? 8);
  const chunker = new ContentChunker(opts.chunking ?? DEFAULT_CHUNKING);
  const out: ChunkedTree = {
    entries: [],
    chunks: [],
    files: 0,
    bytes: 0,
    bytesWritten: 0,
    chunksWritten: 0,
    skippedOther: 0,
    skippedLinks: 0,
  };
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const save = async (hash: string, data: Buffer) => {
    if (known.has(hash)) return;
    // Claimed before the look-up: the same chunk twice in one run is looked up once.
    known.add(hash);
    try {
      const key = snapshotStoreKeys.chunk(hash);
      if (await store.has(key)) return;
      await store.put(key, data);
      out.bytesWritten += data.byteLength;
      out.chunksWritten++;
    } catch (err) {
      known.delete(hash);
      throw err;
    }
  };
  let paused = false;
  let wake: (() => void) | undefined;
  /** Starts a finished chunk's hash and write; the read pauses while `parallel` are in flight. */
  const enqueue = (chunk: Buffer) => {
    // Its place in the manifest now; its hash once the hashing thread sends it back.
    const entry: ManifestChunk = { hash: '', size: chunk.byteLength };
    out.chunks.push(entry);
    // A ContentChunker's chunk owns its memory (see content-chunker.ts): it can travel.
    const p: Promise<void> = chunkHasher
      .hash(chunk, true)
      .then(async ({ hash, data }) => {
        entry.hash = hash;
        await save(hash, data);
        chunker.recycle(data);
      })
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => {
        inFlight.delete(p);
        if (failure) wake?.();
        else if (paused && inFlight.size < parallel) {
          paused = false;
          tar.resume();
        }
      });
    inFlight.add(p);
    // Bounded: the tar stream waits while the store catches up (memory stays ~parallel chunks).
    if (inFlight.size >= parallel && !paused) {
      paused = true;
      tar.pause();
    }
  };

  /** Whether the current entry's bytes are a saved file's. */
  let taking = false;
  const reader = new TarReader({
    entry(h) {
      const path = relativeName(h.name);
      taking = false;
      if (path === undefined) return;
      const mode = h.mode & 0o1777;
      if (h.type === 'file') {
        out.entries.push({ type: 'file', path, mode, size: h.size, mtimeMs: h.mtimeMs });
        out.files++;
        out.bytes += h.size;
        taking = true;
      } else if (h.type === 'directory')
        out.entries.push({ type: 'directory', path, mode, mtimeMs: h.mtimeMs });
      else if (h.type === 'symlink' && h.linkname)
        out.entries.push({ type: 'symlink', path, target: h.linkname });
      else out.skippedOther++;
    },
    data(bytes) {
      if (!taking) return;
      for (const chunk of chunker.push(bytes)) enqueue(chunk);
    },
  });

  // The read runs in the stream's 'data' events, with no promise per piece: see tar-reader.ts.
  const read = new Promise<void>((resolve, reject) => {
    wake = () => reject(failure);
    const take = (piece: Buffer) => {
      if (failure) return;
      try {
        reader.push(piece);
      } catch (err) {
        failure ??= err;
        reject(err);
      }
    };
    // The reader copies what it keeps before returning: a driver that can hands it views of its
    // own read buffer instead of the stream's pieces (see direct-output.ts); either way it pauses
    // and resumes with `tar`.
    readOutputDirectly(tar, take);
    tar.on('data', take);
    tar.once('error', reject);
    tar.once('end', () => {
      try {
        reader.end();
        resolve();
      } catch (err) {
        reject(err);
      }
    });
  });
  try {
    await read;
    const last = chunker.end();
    if (last) enqueue(last);
    await Promise.all(inFlight);
    if (failure) throw failure;
  } catch (err) {
    // The rest of the stream is drained (tar is told to stop by the caller).
    failure ??= err;
    tar.resume();
    await Promise.allSettled(inFlight);
    throw err;
  }
  dropOutsideLinks(out);
  return out;
}

/** `./a/b/` → `a/b`; the root itself (`./`) is not an entry. */
function relativeName(name: string): string | undefined {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  n = n.replace(/\/+$/, '');
  if (n === '' || n === '.') return undefined;
  return n;
}

/**
 * Drops the links that lead outside `/workspace` (a virtualenv's `python -> /usr/bin/python3`):
 * a restore refuses them, and they would make the whole snapshot unusable. Dropping one can
 * only bring others back inside, so this runs until nothing changes.
 */
function dropOutsideLinks(tree: ChunkedTree): void {
  for (;;) {
    const links = new Map<string, string>();
    for (const e of tree.entries) if (e.type === 'symlink') links.set(e.path, e.target);
    const outside = new Set([...links].filter(([p, t]) => !linkTargetInside(p, t, links)).map(([p]) => p));
    if (outside.size === 0) return;
    tree.entries = tree.entries.filter((e) => !(e.type === 'symlink' && outside.has(e.path)));
    tree.skippedLinks += outside.size;
  }
}
