import { type Accessor, createSignal } from 'solid-js';
import { ApiError } from '../api/api-error.ts';
import type { FilesApi } from '../api/files-api.ts';
import { isWithin, movePath } from './workspace-paths.ts';

/** The server's side of a refused save: what the file holds now. */
export interface SaveConflict {
  serverContent: string;
  /** Undefined when the file no longer exists on the server. */
  serverSha256: string | undefined;
}

export interface EditorTab {
  path: string;
  status: 'loading' | 'ready' | 'error';
  error?: unknown;
  /** Not valid UTF-8: shown as a notice, never edited (saving would corrupt it). */
  binary: boolean;
  /** The text at `baseSha256`, i.e. what the server held when it was read or last saved. */
  savedContent: string;
  /** The text in the editor now. */
  content: string;
  baseSha256: string | undefined;
  saving: boolean;
  conflict: SaveConflict | undefined;
  /**
   * Bumped whenever the store itself replaced `content` (a reload), so the editor knows to reset its
   * model rather than treat the change as typing.
   */
  revision: number;
}

export type SaveOutcome = 'saved' | 'conflict' | 'unchanged';

export interface EditorTabsStore {
  /** Open paths, in tab order. */
  paths: Accessor<readonly string[]>;
  tab(path: string): EditorTab | undefined;
  active: Accessor<string | undefined>;
  isDirty(path: string): boolean;
  dirtyPaths(): string[];
  /** Opens (or focuses) a file; the tab shows a loading state until the file is read. */
  open(path: string): Promise<void>;
  activate(path: string): void;
  edit(path: string, content: string): void;
  /** Saves against the version it was read at; a 409 becomes `conflict` on the tab, not an overwrite. */
  save(path: string): Promise<SaveOutcome>;
  /** Resolves a conflict by saving this version over the server's (the person chose so). */
  overwrite(path: string): Promise<SaveOutcome>;
  /** Drops local changes in favour of the server's version (the conflicting one, or a fresh read). */
  reload(path: string): Promise<void>;
  /** Closes a tab; a tab with unsaved changes stays open and answers 'dirty' unless forced. */
  close(path: string, options?: { force?: boolean }): 'closed' | 'dirty';
  /** Follows a rename made elsewhere (the file tree) for open tabs at or under `from`. */
  moved(from: string, to: string): void;
  /** Closes, unconditionally, the tabs at or under a deleted path. */
  removed(path: string): void;
  /** Called after every successful save, e.g. to refresh the file tree. */
  onSaved(listener: (path: string) => void): () => void;
}

export function createEditorTabsStore(files: FilesApi, workspaceId: string): EditorTabsStore {
  const [paths, setPaths] = createSignal<readonly string[]>([]);
  const [tabs, setTabs] = createSignal<ReadonlyMap<string, EditorTab>>(new Map());
  const [active, setActive] = createSignal<string>();
  const savedListeners = new Set<(path: string) => void>();
  const inFlightSaves = new Map<string, Promise<SaveOutcome>>();

  const tab = (path: string) => tabs().get(path);

  function update(path: string, change: Partial<EditorTab>): void {
    const current = tabs().get(path);
    if (current === undefined) return;
    const next = new Map(tabs());
    next.set(path, { ...current, ...change });
    setTabs(next);
  }

  function isDirty(path: string): boolean {
    const current = tab(path);
    return current !== undefined && current.status === 'ready' && current.content !== current.savedContent;
  }

  async function read(path: string): Promise<void> {
    try {
      const file = await files.read(workspaceId, path);
      const binary = file.encoding === 'base64';
      const text = binary ? '' : file.content;
      const current = tab(path);
      update(path, {
        status: 'ready',
        error: undefined,
        binary,
        savedContent: text,
        content: text,
        baseSha256: file.sha256,
        conflict: undefined,
        revision: (current?.revision ?? 0) + 1,
      });
    } catch (error) {
      update(path, { status: 'error', error });
    }
  }

  async function open(path: string): Promise<void> {
    setActive(path);
    const existing = tab(path);
    if (existing !== undefined && existing.status !== 'error') return;
    const next = new Map(tabs());
    next.set(path, {
      path,
      status: 'loading',
      binary: false,
      savedContent: '',
      content: '',
      baseSha256: undefined,
      saving: false,
      conflict: undefined,
      revision: 0,
    });
    setTabs(next);
    if (existing === undefined) setPaths([...paths(), path]);
    await read(path);
  }

  async function write(path: string, baseSha256: string | undefined): Promise<SaveOutcome> {
    const current = tab(path);
    if (current === undefined || current.status !== 'ready' || current.binary) return 'unchanged';
    const sent = current.content;
    update(path, { saving: true });
    try {
      const written = await files.write(workspaceId, path, sent, { baseSha256 });
      // Typing may have gone on during the save: only what was sent counts as saved.
      update(path, { saving: false, savedContent: sent, baseSha256: written.sha256, conflict: undefined });
      for (const listener of [...savedListeners]) listener(path);
      return 'saved';
    } catch (error) {
      update(path, { saving: false });
      if (!(error instanceof ApiError && error.code === 'conflict')) throw error;
      update(path, { conflict: await serverSide(path) });
      return 'conflict';
    }
  }

  async function serverSide(path: string): Promise<SaveConflict> {
    try {
      const file = await files.read(workspaceId, path);
      return { serverContent: file.encoding === 'base64' ? '' : file.content, serverSha256: file.sha256 };
    } catch (error) {
      if (error instanceof ApiError && error.status === 404)
        return { serverContent: '', serverSha256: undefined };
      throw error;
    }
  }

  function once(path: string, save: () => Promise<SaveOutcome>): Promise<SaveOutcome> {
    const running = inFlightSaves.get(path);
    if (running !== undefined) return running;
    const started = save().finally(() => inFlightSaves.delete(path));
    inFlightSaves.set(path, started);
    return started;
  }

  function closeTabs(predicate: (path: string) => boolean): void {
    const closing = paths().filter(predicate);
    if (closing.length === 0) return;
    const order = paths();
    const remaining = order.filter((path) => !predicate(path));
    const next = new Map(tabs());
    for (const path of closing) next.delete(path);
    setTabs(next);
    setPaths(remaining);
    const current = active();
    if (current !== undefined && predicate(current)) {
      // Focus moves to the neighbour, as in every tabbed editor, rather than to nothing.
      const index = order.indexOf(current);
      setActive(remaining[Math.min(index, remaining.length - 1)]);
    }
  }

  return {
    paths,
    tab,
    active,
    isDirty,
    dirtyPaths: () => paths().filter(isDirty),
    open,
    activate: (path) => {
      if (tab(path) !== undefined) setActive(path);
    },
    edit(path, content) {
      const current = tab(path);
      if (current === undefined || current.status !== 'ready' || current.content === content) return;
      update(path, { content });
    },
    save(path) {
      return once(path, async () => {
        const current = tab(path);
        if (current?.conflict !== undefined) return 'conflict';
        if (!isDirty(path)) return 'unchanged';
        return write(path, current?.baseSha256);
      });
    },
    overwrite(path) {
      return once(path, () => write(path, tab(path)?.conflict?.serverSha256));
    },
    async reload(path) {
      const conflict = tab(path)?.conflict;
      if (conflict === undefined || conflict.serverSha256 === undefined) return read(path);
      const current = tab(path);
      update(path, {
        content: conflict.serverContent,
        savedContent: conflict.serverContent,
        baseSha256: conflict.serverSha256,
        conflict: undefined,
        revision: (current?.revision ?? 0) + 1,
      });
    },
    close(path, options = {}) {
      if (!options.force && isDirty(path)) return 'dirty';
      closeTabs((p) => p === path);
      return 'closed';
    },
    moved(from, to) {
      if (!paths().some((path) => isWithin(path, from))) return;
      const next = new Map<string, EditorTab>();
      for (const [path, current] of tabs()) {
        const moved = isWithin(path, from) ? movePath(path, from, to) : path;
        next.set(moved, { ...current, path: moved });
      }
      setTabs(next);
      setPaths(paths().map((path) => (isWithin(path, from) ? movePath(path, from, to) : path)));
      const current = active();
      if (current !== undefined && isWithin(current, from)) setActive(movePath(current, from, to));
    },
    removed(path) {
      closeTabs((p) => isWithin(p, path));
    },
    onSaved(listener) {
      savedListeners.add(listener);
      return () => savedListeners.delete(listener);
    },
  };
}
