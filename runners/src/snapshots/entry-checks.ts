/**
 * The checks every manifest passes before a restore writes anything: a manifest is read from a
 * store that others may write to, so it is treated as hostile. An entry may not name a path
 * outside `/workspace` (absolute, `..`, NUL, empty parts), sit under a path that another entry
 * makes a link or a file, appear twice, or be a link whose target resolves outside
 * `/workspace` (following the manifest's own links, which are all that exists after the
 * restore empties the folder). A file's size must match its chunks.
 */
import type { ManifestEntry, SnapshotManifest } from '@keel/contract/snapshots';

export const MIN_CHUNK_BYTES = 64 * 1024;
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const MAX_PATH_CHARS = 4096;
const MAX_LINK_HOPS = 40;

export class BadEntryError extends Error {
  override name = 'BadEntryError';
}

/** Throws BadEntryError naming the first bad entry; returns the entries in a safe order to write. */
export function checkManifest(manifest: SnapshotManifest): ManifestEntry[] {
  const { chunkBytes, entries } = manifest;
  if (!Number.isInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES) {
    throw new BadEntryError(`chunk size ${chunkBytes} is out of bounds`);
  }
  const byPath = new Map<string, ManifestEntry>();
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
    if (entry.type === 'file') {
      if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
        throw new BadEntryError(`${quote(entry.path)} has size ${entry.size}`);
      }
      if (entry.chunks.length !== Math.ceil(entry.size / chunkBytes)) {
        throw new BadEntryError(
          `${quote(entry.path)}: ${entry.chunks.length} chunk(s) for ${entry.size} bytes`,
        );
      }
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
  // Folders first (parents before children), then files, then links last: no file is ever
  // written after a link that could lead somewhere.
  const rank = { directory: 0, file: 1, symlink: 2 } as const;
  return [...entries].sort(
    (a, b) => rank[a.type] - rank[b.type] || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
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
  byPath: Map<string, ManifestEntry>,
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
