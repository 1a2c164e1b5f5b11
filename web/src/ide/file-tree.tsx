import { createEffect, createMemo, For, type JSX, Match, Show, Switch } from 'solid-js';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { IconButton } from '../components/icon-button.tsx';
import {
  ChevronIcon,
  FileIcon,
  FolderIcon,
  NewFileIcon,
  NewFolderIcon,
  PencilIcon,
  RefreshIcon,
  TrashIcon,
} from '../components/icons.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { errorMessage } from '../forms/error-message.ts';
import type { FileActions } from './file-actions.tsx';
import type { FileTreeStore } from './file-tree-store.ts';
import { rootView, type TreeRow, visibleRows } from './visible-tree.ts';
import { parentOf } from './workspace-paths.ts';

export interface FileTreeProps {
  tree: FileTreeStore;
  actions: FileActions;
  /** Paths with unsaved changes, marked in the tree as in the tabs. */
  isDirty: (path: string) => boolean;
  onOpenFile: (path: string) => void;
  /** No new, rename or delete: for people who may read the workspace and not change it. */
  readOnly?: boolean;
}

/**
 * The workspace's files as an ARIA tree: arrow keys move, Right/Left open and close folders, Enter opens,
 * F2 renames, Delete deletes. Actions live in the toolbar above (not inside rows, where buttons would
 * nest interactive controls) and apply to the selected entry.
 */
export function FileTree(props: FileTreeProps) {
  let treeElement: HTMLDivElement | undefined;
  const rows = createMemo(() => visibleRows(props.tree));
  // Rows are keyed by path, so opening a folder adds rows instead of redrawing (and unfocusing) the others.
  const rowIndex = createMemo(() => new Map(rows().map((row, index) => [row.entry.path, { row, index }])));
  const paths = () => rows().map((row) => row.entry.path);
  const root = () => props.tree.directory('');
  const view = () => rootView(root());
  const rootFailure = () => {
    const state = root();
    return view() === 'failed' && state?.status === 'error' ? { error: state.error } : undefined;
  };
  const selectedEntry = () => {
    const path = props.tree.selected();
    return path === undefined ? undefined : props.tree.entry(path);
  };
  const failedFolders = () =>
    rows()
      .filter(
        (row) => row.entry.type === 'directory' && props.tree.directory(row.entry.path)?.status === 'error',
      )
      .map((row) => row.entry.path);

  // Keep a focusable row: the selected one, or the first (roving tabindex).
  const focusPath = () => props.tree.selected() ?? rows()[0]?.entry.path;

  function focusRow(path: string): void {
    props.tree.select(path);
    queueMicrotask(() => {
      treeElement?.querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"]`)?.focus();
    });
  }

  function activate(row: TreeRow): void {
    props.tree.select(row.entry.path);
    if (row.entry.type === 'directory') void props.tree.toggle(row.entry.path);
    else props.onOpenFile(row.entry.path);
  }

  const onKeyDown = (event: KeyboardEvent, row: TreeRow, index: number) => {
    const list = rows();
    const isDir = row.entry.type === 'directory';
    const open = isDir && props.tree.isExpanded(row.entry.path);
    let handled = true;
    switch (event.key) {
      case 'ArrowDown':
        if (list[index + 1]) focusRow(list[index + 1]!.entry.path);
        break;
      case 'ArrowUp':
        if (list[index - 1]) focusRow(list[index - 1]!.entry.path);
        break;
      case 'ArrowRight':
        if (isDir && !open) void props.tree.expand(row.entry.path);
        else if (open && list[index + 1]?.level === row.level + 1) focusRow(list[index + 1]!.entry.path);
        break;
      case 'ArrowLeft':
        if (open) props.tree.collapse(row.entry.path);
        else if (row.level > 1) focusRow(parentOf(row.entry.path));
        break;
      case 'Home':
        if (list[0]) focusRow(list[0].entry.path);
        break;
      case 'End':
        if (list.length > 0) focusRow(list[list.length - 1]!.entry.path);
        break;
      case 'Enter':
      case ' ':
        activate(row);
        break;
      case 'F2':
        if (props.readOnly) handled = false;
        else props.actions.rename(row.entry.path);
        break;
      case 'Delete':
        if (props.readOnly) handled = false;
        else props.actions.remove(row.entry.path);
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  };

  createEffect(() => {
    // A selection that disappeared (deleted, renamed) falls back to nothing rather than a ghost row.
    const path = props.tree.selected();
    if (
      path !== undefined &&
      root()?.status === 'loaded' &&
      props.tree.entry(path) === undefined &&
      path !== ''
    )
      props.tree.select(undefined);
  });

  const toolbar = (): JSX.Element => (
    <div
      class="tree-toolbar"
      role="toolbar"
      aria-label="Files"
      // Only while the tree is there: an id that names nothing is an ARIA error.
      aria-controls={view() === 'tree' ? 'file-tree' : undefined}
    >
      <Show when={!props.readOnly}>
        <IconButton label="New file" onClick={() => props.actions.newFile()}>
          <NewFileIcon />
        </IconButton>
        <IconButton label="New folder" onClick={() => props.actions.newFolder()}>
          <NewFolderIcon />
        </IconButton>
        <IconButton
          label={selectedEntry() ? `Rename ${selectedEntry()!.name}` : 'Rename (select a file first)'}
          disabled={!selectedEntry()}
          onClick={() => {
            const entry = selectedEntry();
            if (entry) props.actions.rename(entry.path);
          }}
        >
          <PencilIcon />
        </IconButton>
        <IconButton
          label={selectedEntry() ? `Delete ${selectedEntry()!.name}` : 'Delete (select a file first)'}
          disabled={!selectedEntry()}
          onClick={() => {
            const entry = selectedEntry();
            if (entry) props.actions.remove(entry.path);
          }}
        >
          <TrashIcon />
        </IconButton>
      </Show>
      <IconButton label="Refresh files" onClick={() => void props.tree.refreshAll()}>
        <RefreshIcon />
      </IconButton>
    </div>
  );

  return (
    <div class="file-tree">
      <div class="sidebar-heading">
        <h2 class="sidebar-title" id="files-heading">
          Files
        </h2>
        {toolbar()}
      </div>
      <Switch>
        <Match when={view() === 'loading'}>
          <LoadingIndicator label="Loading files…" class="tree-note" />
        </Match>
        <Match when={rootFailure()}>
          {(failure) => (
            <div class="tree-note alert alert-error" role="alert">
              <p>Could not list the files. {errorMessage(failure().error)}</p>
              <Button variant="secondary" size="small" onClick={() => void props.tree.expand('')}>
                Try again
              </Button>
            </div>
          )}
        </Match>
        <Match when={view() === 'empty'}>
          <EmptyState title="No files yet" class="tree-note">
            <p>Create a file or folder with the buttons above, or run a command that makes some.</p>
          </EmptyState>
        </Match>
        <Match when={true}>
          <div ref={treeElement} id="file-tree" class="tree" role="tree" aria-labelledby="files-heading">
            <For each={paths()}>
              {(path) => {
                const info = () => rowIndex().get(path);
                const row = () => info()?.row;
                const isDir = () => row()?.entry.type === 'directory';
                const expanded = () => props.tree.isExpanded(path);
                const loading = () => isDir() && props.tree.directory(path)?.status === 'loading';
                const selected = () => props.tree.selected() === path;
                return (
                  <Show when={row()}>
                    {(current) => (
                      <div
                        role="treeitem"
                        class="tree-row"
                        classList={{ selected: selected() }}
                        data-path={path}
                        aria-level={current().level}
                        aria-setsize={current().setSize}
                        aria-posinset={current().position}
                        aria-expanded={isDir() ? (expanded() ? 'true' : 'false') : undefined}
                        aria-selected={selected() ? 'true' : 'false'}
                        aria-busy={loading() ? 'true' : undefined}
                        tabIndex={focusPath() === path ? 0 : -1}
                        style={{ 'padding-left': `${0.5 + (current().level - 1) * 0.875}rem` }}
                        onClick={() => activate(current())}
                        onFocus={() => props.tree.select(path)}
                        onKeyDown={(event) => onKeyDown(event, current(), info()?.index ?? 0)}
                      >
                        <Show when={isDir()} fallback={<span class="tree-twisty" />}>
                          <ChevronIcon class={`tree-twisty${expanded() ? ' open' : ''}`} />
                        </Show>
                        <Show when={isDir()} fallback={<FileIcon />}>
                          <FolderIcon />
                        </Show>
                        <span class="tree-name">{current().entry.name}</span>
                        <Show when={current().entry.type === 'symlink'}>
                          <span class="tree-tag">link</span>
                        </Show>
                        <Show when={loading()}>
                          <span class="spinner spinner-small" aria-hidden="true" />
                        </Show>
                        <Show when={!isDir() && props.isDirty(path)}>
                          <span class="dirty-dot" role="img" aria-label="unsaved changes" />
                        </Show>
                      </div>
                    )}
                  </Show>
                );
              }}
            </For>
          </div>
        </Match>
      </Switch>
      <For each={failedFolders()}>
        {(path) => (
          <div class="tree-note alert alert-error" role="alert">
            <p>Could not open {path}.</p>
            <Button variant="secondary" size="small" onClick={() => void props.tree.expand(path)}>
              Try again
            </Button>
          </div>
        )}
      </For>
    </div>
  );
}
