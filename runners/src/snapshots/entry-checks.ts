/**
 * The checks every manifest passes before a restore writes anything: a manifest is read from a
 * store that others may write to, so it is treated as hostile. An entry may not name a path
 * outside `/workspace` (absolute, `..`, NUL, empty parts), sit under a path that another entry
 * makes a link or a file, appear twice, or be a link whose target resolves outside
 * `/workspace` (following the manifest's own links, which are all that exists after the
 * restore empties the folder). The files' sizes must add up to their chunks' (version 2), or
 * each file's size match its own chunks (version 1).
 */
import type {
  AnySnapshotManifest,
  ManifestChunk,
  ManifestEntry,
  ManifestEntryV1,
  SnapshotManifestV1,
} from '@keel/contract/snapshots';

export const MIN_CHUNK_BYTES = 64 * 1024;
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const MAX_PATH_CHARS = 4096;
const MAX_LINK_HOPS = 40;

export class BadEntryError extends Error {
  override name = 'BadEntryError';
}

/** A checked manifest, either version, as the restore writes it. */
export interface CheckedManifest {
  /**
   * Folders first (parents before children), then files, then links last: no file is ever
   * written after a link that could lead somewhere. Files keep the order their bytes have in
   * `chunks`.
   */
  ordered: ManifestEntry[];
  /** The files' bytes, in `ordered`'s order. */
  chunks: ManifestChunk[];
}

/** Throws BadEntryError naming the first bad entry; returns the entries in a safe order to write. */
export function checkManifest(manifest: AnySnapshotManifest): CheckedManifest {
  if (manifest.v === 1) return checkV1(manifest);
  const { entries, chunks } = manifest;
  checkEntries(entries);
  let chunked = 0;
  for (const c of chunks) {
    if (!Number.isInteger(c.size) || c.size < 1 || c.size > MAX_CHUNK_BYTES) {
      throw new BadEntryError(`a chunk of ${c.size} bytes is out of bounds`);
    }
    chunked += c.size;
  }
  let sized = 0;
  for (const e of entries) if (e.type === 'file') sized += e.size;
  if (chunked !== sized) {
    throw new BadEntryError(`the files hold ${sized} bytes and their chunks ${chunked}`);
  }
  const files = entries.filter((e) => e.type === 'file');
  return { ordered: [...sorted(entries, 'directory'), ...files, ...sorted(entries, 'symlink')], chunks };
}

/** Version 1: each file has its own chunks, every one `chunkBytes` long but its last. */
function checkV1(manifest: SnapshotManifestV1): CheckedManifest {
  const { chunkBytes, entries } = manifest;
  if (!Number.isInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
    throw new BadEntryError(`chunk size ${chunkBytes} is out of bounds`);
  }
  checkEntries(entries);
  const files = sorted(entries, 'file') as Extract<ManifestEntryV1, { type: 'file' }>[];
  const chunks: ManifestChunk[] = [];
  for (const e of files) {
    if (e.chunks.length !== Math.ceil(e.size / chunkBytes)) {
      throw new BadEntryError(`${quote(e.path)}: ${e.chunks.length} chunk(s) for ${e.size} bytes`);
    }
    e.chunks.forEach((hash, i) => {
      chunks.push({ hash, size: Math.min(chunkBytes, e.size - i * chunkBytes) });
    });
  }
  const asFile = ({ chunks: _, ...rest }: (typeof files)[number]): ManifestEntry => rest;
  return {
    ordered: [
      ...(sorted(entries, 'directory') as ManifestEntry[]),
      ...files.map(asFile),
      ...(sorted(entries, 'symlink') as ManifestEntry[]),
    ],
    chunks,
  };
}

function sorted<E extends { type: string; path: string }>(entries: E[], type: E['type']): E[] {
  return entries
    .filter((e) => e.type === type)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** What both versions check of every entry: names, modes, times, sizes, links. */
function checkEntries(entries: (ManifestEntry | ManifestEntryV1)[]): void {
  const byPath = new Map<string, ManifestEntry | ManifestEntryV1>();
  for (const entry of entries) {
    checkPath(entry.path);
    if (byPath.has(entry.path)) throw new BadEntryError(`${quote(entry.path)} appears twice`);
    byPath.set(entry.path, entry);
    if (entry.type === 'symlink') {
      if (entry.target.length === 0 || entry.target.length > MAX_PATH_CHARS || entry.target.includes('\0')) {
        throw new BadEntryError(`the link ${quote(entry.path)} has an unusable target`);
      }
      continue;
    }
    if (!Number.isInteger(entry.mode) || entry.mode < 0 || entry.mode > 0o7777) {
      throw new BadEntryError(`${quote(entry.path)} has mode ${entry.mode}`);
    }
    if (!Number.isFinite(entry.mtimeMs)) throw new BadEntryError(`${quote(entry.path)} has no usable time`);
    if (entry.type === 'file' && (!Number.isSafeInteger(entry.size) || entry.size < 0)) {
      throw new BadEntryError(`${quote(entry.path)} has size ${entry.size}`);
    }
  }
  for (const entry of entries) {
    // Nothing under a link (it would be written through it) or under a file.
    const parts = entry.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = byPath.get(parts.slice(0, i).join('/'));
      if (parent && parent.type !== 'directory') {
        throw new BadEntryError(`${quote(entry.path)} lies under the ${parent.type} ${quote(parent.path)}`);
      }
    }
    if (entry.type === 'symlink' && !linkStaysInside(entry, byPath)) {
      throw new BadEntryError(`the link ${quote(entry.path)} points outside /workspace`);
    }
  }
}

function checkPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0 || path.length > MAX_PATH_CHARS) {
    throw new BadEntryError(`an entry has an unusable path ${quote(String(path))}`);
  }
  if (path.includes('\0')) throw new BadEntryError(`${quote(path)} contains NUL`);
  if (path.startsWith('/')) throw new BadEntryError(`${quote(path)} is absolute`);
  for (const part of path.split('/')) {
    if (part === '..') throw new BadEntryError(`${quote(path)} climbs out with ..`);
    if (part === '' || part === '.') throw new BadEntryError(`${quote(path)} is not a plain relative path`);
  }
}

/**
 * Where a link leads, resolved inside the restored tree: its manifest's links are followed
 * (up to 40 hops, as the kernel does), and a `..` above `/workspace` or an absolute target
 * elsewhere is outside.
 */
function linkStaysInside(
  link: Extract<ManifestEntry, { type: 'symlink' }>,
  byPath: Map<string, ManifestEntry | ManifestEntryV1>,
): boolean {
  let hops = 0;
  const resolve = (from: string[], target: string): string[] | undefined => {
    let stack: string[];
    let rest: string;
    if (target.startsWith('/')) {
      if (target !== '/workspace' && !target.startsWith('/workspace/')) return undefined;
      stack = [];
      rest = target.slice('/workspace'.length);
    } else {
      stack = [...from];
      rest = target;
    }
    for (const part of rest.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (stack.length === 0) return undefined;
        stack.pop();
        continue;
      }
      stack.push(part);
      const entry = byPath.get(stack.join('/'));
      if (entry?.type === 'symlink') {
        if (++hops > MAX_LINK_HOPS) return undefined;
        const next = resolve(stack.slice(0, -1), entry.target);
        if (!next) return undefined;
        stack = next;
      }
    }
    return stack;
  };
  return resolve(link.path.split('/').slice(0, -1), link.target) !== undefined;
}

/** Whether a link read from the workspace would pass the restore's checks (see chunker). */
export function linkTargetInside(path: string, target: string, links: Map<string, string>): boolean {
  const byPath = new Map<string, ManifestEntry>();
  for (const [p, t] of links) byPath.set(p, { type: 'symlink', path: p, target: t });
  if (target.length === 0 || target.includes('\0')) return false;
  return linkStaysInside({ type: 'symlink', path, target }, byPath);
}

function quote(path: string): string {
  return JSON.stringify(path.length > 120 ? `${path.slice(0, 120)}…` : path);
}
