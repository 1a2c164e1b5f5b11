import type { FileEntry } from '@keel/contract/workspaces';
import { type Accessor, createSignal } from 'solid-js';
import type { FilesApi } from '../api/files-api.ts';
import { baseName, isWithin, movePath, parentOf } from './workspace-paths.ts';

export type DirectoryState =
  | { status: 'loading'; entries: FileEntry[] }
  | { status: 'loaded'; entries: FileEntry[] }
  | { status: 'error'; entries: FileEntry[]; error: unknown };

export interface FileTreeStore {
  /** What is known of a folder ('' is the root); undefined when it was never opened. */
  directory(path: string): DirectoryState | undefined;
  isExpanded(path: string): boolean;
  expand(path: string): Promise<void>;
  collapse(path: string): void;
  toggle(path: string): Promise<void>;
  /** Opens every folder down to `path`, loading what is missing, e.g. to show a file just created. */
  reveal(path: string): Promise<void>;
  /** Reloads a folder that was loaded before (after a write into it); unknown folders are left alone. */
  refresh(path: string): Promise<void>;
  /** Reloads every loaded folder. */
  refreshAll(): Promise<void>;
  /** The entry for a path, when its folder is loaded. */
  entry(path: string): FileEntry | undefined;
  /** Drops everything known under a path (after it was deleted or renamed). */
  forget(path: string): void;
  /**
   * Shows a rename done by a command (`mv`) without listing again. The API caches listings for a minute
   * and only its own file writes clear that cache, so a listing asked for now could still show the old name.
   */
  applyRename(from: string, to: string): void;
  /** Shows a deletion done by a command (`rm`), for the same reason. */
  applyRemoval(path: string): void;
  selected: Accessor<string | undefined>;
  select(path: string | undefined): void;
}

/**
 * A lazy file tree: a folder's entries are fetched the first time it is opened (the API lists one level),
 * and only folders already loaded are fetched again on refresh, so a deep tree costs nothing until used.
 */
export function createFileTreeStore(files: FilesApi, workspaceId: string): FileTreeStore {
  const [directories, setDirectories] = createSignal<ReadonlyMap<string, DirectoryState>>(new Map());
  const [expanded, setExpanded] = createSignal<ReadonlySet<string>>(new Set(['']));
  const [selected, setSelected] = createSignal<string>();
  // The latest request per folder wins, so a slow old answer cannot overwrite a newer one.
  const latest = new Map<string, number>();
  let requestCounter = 0;

  function setDirectory(path: string, state: DirectoryState): void {
    const next = new Map(directories());
    next.set(path, state);
    setDirectories(next);
  }

  async function load(path: string): Promise<void> {
    const request = ++requestCounter;
    latest.set(path, request);
    const previous = directories().get(path);
    setDirectory(path, { status: 'loading', entries: previous?.entries ?? [] });
    try {
      const entries = sortEntries(await files.list(workspaceId, path));
      if (latest.get(path) === request) setDirectory(path, { status: 'loaded', entries });
    } catch (error) {
      if (latest.get(path) === request)
        setDirectory(path, { status: 'error', entries: previous?.entries ?? [], error });
    }
  }

  async function expand(path: string): Promise<void> {
    setExpanded(new Set([...expanded(), path]));
    const state = directories().get(path);
    if (state === undefined || state.status === 'error') await load(path);
  }

  function forget(path: string): void {
    setDirectories(new Map([...directories()].filter(([dir]) => !isWithin(dir, path))));
    setExpanded(new Set([...expanded()].filter((dir) => dir === '' || !isWithin(dir, path))));
    const current = selected();
    if (current !== undefined && isWithin(current, path)) setSelected(undefined);
  }

  function collapse(path: string): void {
    const next = new Set(expanded());
    next.delete(path);
    setExpanded(next);
  }

  function entry(path: string): FileEntry | undefined {
    return directories()
      .get(parentOf(path))
      ?.entries.find((e) => e.path === path);
  }

  return {
    directory: (path) => directories().get(path),
    isExpanded: (path) => expanded().has(path),
    expand,
    collapse,
    async toggle(path) {
      if (expanded().has(path)) collapse(path);
      else await expand(path);
    },
    async reveal(path) {
      const parts = parentOf(path).split('/').filter(Boolean);
      await expand('');
      let dir = '';
      for (const part of parts) {
        dir = dir === '' ? part : `${dir}/${part}`;
        await expand(dir);
      }
    },
    async refresh(path) {
      if (directories().has(path)) await load(path);
    },
    async refreshAll() {
      await Promise.all([...directories().keys()].map((path) => load(path)));
    },
    entry,
    forget,
    applyRename(from, to) {
      const moved = entry(from);
      const next = new Map<string, DirectoryState>();
      for (const [dir, state] of directories()) {
        if (dir !== '' && isWithin(dir, from)) {
          // Folders that were open below the old name stay open under the new one.
          const entries = state.entries.map((e) => ({ ...e, path: movePath(e.path, from, to) }));
          next.set(movePath(dir, from, to), { ...state, entries });
        } else {
          next.set(dir, { ...state, entries: state.entries.filter((e) => e.path !== from) });
        }
      }
      const target = next.get(parentOf(to));
      if (moved !== undefined && target !== undefined) {
        const renamed = { ...moved, name: baseName(to), path: to };
        next.set(parentOf(to), {
          ...target,
          entries: sortEntries([...target.entries.filter((e) => e.path !== to), renamed]),
        });
      }
      setDirectories(next);
      setExpanded(
        new Set(
          [...expanded()].map((dir) => (dir !== '' && isWithin(dir, from) ? movePath(dir, from, to) : dir)),
        ),
      );
      const current = selected();
      if (current !== undefined && isWithin(current, from)) setSelected(movePath(current, from, to));
    },
    applyRemoval(path) {
      forget(path);
      const parent = directories().get(parentOf(path));
      if (parent !== undefined)
        setDirectory(parentOf(path), { ...parent, entries: parent.entries.filter((e) => e.path !== path) });
    },
    selected,
    select: setSelected,
  };
}

/** Folders first, then names in the order people expect (case-insensitive, numbers by value). */
export function sortEntries(entries: readonly FileEntry[]): FileEntry[] {
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  return [...entries].sort((a, b) => {
    const folderFirst = Number(b.type === 'directory') - Number(a.type === 'directory');
    return folderFirst || collator.compare(a.name, b.name);
  });
}
