/**
 * Turns a tar stream of `/workspace` into manifest entries and content-addressed chunks: every
 * regular file's bytes, one file after another, go through one content-defined chunker (see
 * content-chunker.ts), so a workspace of thousands of small files is a few hundred chunks, not
 * thousands of store objects. Each chunk is hashed (SHA-256) and written only when the store
 * lacks it. Folders, modes, times and links go in the manifest; other entry types (devices,
 * pipes, sockets) are skipped and counted, and so are links that lead outside `/workspace`,
 * which a restore would refuse.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type ManifestChunk, type ManifestEntry, snapshotStoreKeys } from '@keel/contract/snapshots';
import { extract } from 'tar-stream';
import { type ChunkingOptions, ContentChunker, DEFAULT_CHUNKING } from './content-chunker.ts';
import { linkTargetInside } from './entry-checks.ts';
import type { SnapshotStore } from './store.ts';

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
  const enqueue = async (data: Buffer) => {
    const hash = createHash('sha256').update(data).digest('hex');
    out.chunks.push({ hash, size: data.byteLength });
    const p = save(hash, data).then(
      () => {
        inFlight.delete(p);
        chunker.recycle(data);
      },
      (err) => {
        inFlight.delete(p);
        failure ??= err;
      },
    );
    inFlight.add(p);
    // Bounded: the tar stream waits while the store catches up (memory stays ~parallel chunks).
    while (inFlight.size >= parallel) await Promise.race(inFlight);
    if (failure) throw failure;
  };

  const ex = extract();
  const fed = new Promise<void>((resolve, reject) => {
    tar.once('error', reject);
    ex.once('error', reject);
    ex.once('finish', resolve);
  });
  tar.pipe(ex);
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const path = relativeName(h.name);
      if (path === undefined) {
        entry.resume();
        continue;
      }
      const mode = (h.mode ?? 0o644) & 0o1777;
      const mtimeMs = h.mtime?.getTime() ?? 0;
      if (h.type === 'file' || h.type === 'contiguous-file') {
        const size = h.size ?? 0;
        let seen = 0;
        for await (const piece of entry as AsyncIterable<Buffer>) {
          seen += piece.length;
          if (seen > size) throw new Error(`the archive holds more of ${JSON.stringify(path)} than its size`);
          for (const chunk of chunker.push(piece)) await enqueue(chunk);
        }
        if (seen !== size) throw new Error(`the archive ended inside ${JSON.stringify(path)}`);
        out.entries.push({ type: 'file', path, mode, size, mtimeMs });
        out.files++;
        out.bytes += size;
        continue;
      }
      entry.resume();
      if (h.type === 'directory') out.entries.push({ type: 'directory', path, mode, mtimeMs });
      else if (h.type === 'symlink' && h.linkname)
        out.entries.push({ type: 'symlink', path, target: h.linkname });
      else out.skippedOther++;
    }
    await fed;
    const last = chunker.end();
    if (last) await enqueue(last);
    await Promise.all(inFlight);
    if (failure) throw failure;
  } catch (err) {
    tar.unpipe(ex);
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
