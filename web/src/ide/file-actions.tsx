import { createSignal, type JSX, Match, Switch } from 'solid-js';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { PromptDialog } from '../components/prompt-dialog.tsx';
import type { EditorTabsStore } from './editor-tabs-store.ts';
import type { FileOperations } from './file-operations.ts';
import type { FileTreeStore } from './file-tree-store.ts';
import { baseName, joinPath, nameProblem, parentOf } from './workspace-paths.ts';

type PendingDialog =
  | { kind: 'new-file'; dir: string }
  | { kind: 'new-folder'; dir: string }
  | { kind: 'rename'; path: string }
  | { kind: 'delete'; path: string };

/** What the tree, the palette and the keyboard can ask for; each opens the matching dialog. */
export interface FileActions {
  /** In `dir`, or next to the selected entry when not given. */
  newFile(dir?: string): void;
  newFolder(dir?: string): void;
  rename(path: string): void;
  remove(path: string): void;
}

export interface FileActionsOptions {
  tree: FileTreeStore;
  tabs: EditorTabsStore;
  operations: FileOperations;
  /** Opens a file just created, ready for typing. */
  openFile: (path: string) => void;
}

/**
 * The dialogs for creating, renaming and deleting files, and what follows each: the tree refreshed where it
 * changed, a new file opened, open tabs following a rename or closed by a delete.
 */
export function createFileActions(options: FileActionsOptions): {
  actions: FileActions;
  Dialogs: () => JSX.Element;
} {
  const { tree, tabs, operations } = options;
  const [dialog, setDialog] = createSignal<PendingDialog>();
  const close = () => setDialog(undefined);
  const pending = <K extends PendingDialog['kind']>(kind: K) => {
    const current = dialog();
    return current?.kind === kind ? (current as Extract<PendingDialog, { kind: K }>) : undefined;
  };

  /** The folder new entries go into: the selected folder, or the folder of the selected file. */
  function targetDir(): string {
    const selected = tree.selected();
    if (selected === undefined) return '';
    return tree.entry(selected)?.type === 'directory' ? selected : parentOf(selected);
  }

  function checkNew(dir: string, name: string): string | undefined {
    const problem = nameProblem(name);
    if (problem) return problem;
    if (tree.entry(joinPath(dir, name)) !== undefined) return 'Something with this name already exists here.';
    return undefined;
  }

  async function createFile(dir: string, name: string): Promise<void> {
    const path = joinPath(dir, name);
    await operations.createFile(path);
    await tree.refresh(dir);
    await tree.reveal(path);
    tree.select(path);
    close();
    options.openFile(path);
  }

  async function createFolder(dir: string, name: string): Promise<void> {
    const path = joinPath(dir, name);
    await operations.createFolder(path);
    await tree.refresh(dir);
    await tree.reveal(joinPath(path, 'x'));
    tree.select(path);
    close();
  }

  async function rename(from: string, name: string): Promise<void> {
    const to = joinPath(parentOf(from), name);
    if (to !== from) {
      await operations.rename(from, to);
      tree.applyRename(from, to);
      tabs.moved(from, to);
      if (parentOf(to) !== parentOf(from)) await tree.reveal(to);
      tree.select(to);
    }
    close();
  }

  async function remove(path: string): Promise<void> {
    await operations.remove(path);
    tree.applyRemoval(path);
    tabs.removed(path);
    close();
  }

  const actions: FileActions = {
    newFile: (dir) => setDialog({ kind: 'new-file', dir: dir ?? targetDir() }),
    newFolder: (dir) => setDialog({ kind: 'new-folder', dir: dir ?? targetDir() }),
    rename: (path) => setDialog({ kind: 'rename', path }),
    remove: (path) => setDialog({ kind: 'delete', path }),
  };

  const where = (dir: string) => (dir === '' ? 'the workspace root' : dir);

  function Dialogs() {
    return (
      <Switch>
        <Match when={pending('new-file')}>
          {(current) => (
            <PromptDialog
              open
              title="New file"
              label="File name"
              hint={`Created in ${where(current().dir)}. Use “/” for folders, e.g. src/index.ts.`}
              submitLabel="Create file"
              pendingLabel="Creating…"
              validate={(name) => checkNew(current().dir, name)}
              onSubmit={(name) => createFile(current().dir, name)}
              onCancel={close}
            />
          )}
        </Match>
        <Match when={pending('new-folder')}>
          {(current) => (
            <PromptDialog
              open
              title="New folder"
              label="Folder name"
              hint={`Created in ${where(current().dir)}, with an empty .keep file so it shows up and Git keeps it.`}
              submitLabel="Create folder"
              pendingLabel="Creating…"
              validate={(name) => checkNew(current().dir, name)}
              onSubmit={(name) => createFolder(current().dir, name)}
              onCancel={close}
            />
          )}
        </Match>
        <Match when={pending('rename')}>
          {(current) => (
            <PromptDialog
              open
              title={`Rename ${baseName(current().path)}`}
              label="New name"
              initialValue={baseName(current().path)}
              submitLabel="Rename"
              pendingLabel="Renaming…"
              validate={(name) =>
                name === baseName(current().path) ? undefined : checkNew(parentOf(current().path), name)
              }
              onSubmit={(name) => rename(current().path, name)}
              onCancel={close}
            />
          )}
        </Match>
        <Match when={pending('delete')}>
          {(current) => (
            <ConfirmDialog
              open
              danger
              title={`Delete ${baseName(current().path)}?`}
              confirmLabel="Delete"
              pendingLabel="Deleting…"
              onConfirm={() => remove(current().path)}
              onCancel={close}
            >
              <p>
                <code>{current().path}</code>
                {tree.entry(current().path)?.type === 'directory' ? ' and everything in it' : ''} will be
                deleted from the workspace. Open tabs for it close, unsaved changes included. This cannot be
                undone.
              </p>
            </ConfirmDialog>
          )}
        </Match>
      </Switch>
    );
  }

  return { actions, Dialogs };
}
