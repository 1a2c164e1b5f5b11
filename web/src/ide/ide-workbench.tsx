import type { Workspace } from '@keel/contract/workspaces';
import { useBeforeLeave, useNavigate } from '@solidjs/router';
import { createEffect, createSignal, Match, on, onCleanup, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { ResizeHandle } from '../components/resize-handle.tsx';
import { errorMessage } from '../forms/error-message.ts';
import { can } from '../session/permissions.ts';
import { useSession } from '../session/session-context.ts';
import { PlacementDialog } from '../snapshots/placement-view.tsx';
import { createSnapshotListStore } from '../snapshots/snapshot-list-store.ts';
import { SnapshotsPanel } from '../snapshots/snapshots-panel.tsx';
import { useTheme } from '../theme/theme-context.ts';
import { safeLocalStorage } from '../theme/theme-store.ts';
import type { WorkspaceWatch } from '../workspaces/workspace-watch.ts';
import { createAiFeatures } from './ai/ai-features.tsx';
import { BottomPanel } from './bottom-panel.tsx';
import { EditorSetupContext } from './code-editor.tsx';
import { CommandPalette } from './command-palette.tsx';
import { shortcutLabel } from './commands.ts';
import { EditorStage } from './editor-stage.tsx';
import { EditorTabs } from './editor-tabs.tsx';
import { createEditorTabsStore } from './editor-tabs-store.ts';
import { createFileActions } from './file-actions.tsx';
import { createFileOperations } from './file-operations.ts';
import { FileTree } from './file-tree.tsx';
import { createFileTreeStore } from './file-tree-store.ts';
import { createFilesFreshness } from './files-freshness.ts';
import { changeCount } from './git/git-changes.ts';
import { GitDiffTab } from './git/git-diff-tab.tsx';
import { GitPushDialog } from './git/git-push-dialog.tsx';
import { createGitStore } from './git/git-store.ts';
import { SourceControlView } from './git/source-control-view.tsx';
import { ideCommands } from './ide-commands.ts';
import { IdeHeader } from './ide-header.tsx';
import { createIdeLayoutStore, LAYOUT_LIMITS } from './ide-layout-store.ts';
import { attachLanguageServers } from './lsp/editor-language-servers.ts';
import { PortsPanel } from './ports/ports-panel.tsx';
import { QuickOpen } from './quick-open/quick-open.tsx';
import { allowedCommands, ideAllowances, READ_ONLY_NOTE } from './read-only.ts';
import { RunPanel } from './run/run-panel.tsx';
import { createRunStore } from './run/run-store.ts';
import { revealLine } from './search/reveal-line.ts';
import { SearchPanel } from './search/search-panel.tsx';
import { StatusBar } from './status-bar.tsx';
import { TerminalPanel } from './terminal/terminal-panel.tsx';
import { UnsavedChangesDialog } from './unsaved-changes-dialog.tsx';
import { useShortcuts } from './use-shortcuts.ts';
import { parentOf } from './workspace-paths.ts';

const MAC =
  typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

/**
 * What an unsaved-changes question is about: closing one tab, or leaving for another page (a link, or the
 * browser's back and forward buttons, which `leave` repeats past the question).
 */
type PendingExit = { kind: 'close'; path: string } | { kind: 'leave'; leave: () => void };

export function IdeWorkbench(props: { watch: WorkspaceWatch; workspace: Workspace }) {
  const apis = useApis();
  const navigate = useNavigate();
  const theme = useTheme();
  const session = useSession();
  // What this person may do here, from the server's list (session/permissions.ts). A viewer reads:
  // the editor is read-only, and saving, running, the terminal, file changes and AI are not offered.
  // Pushing goes with the owner's own kept Git host token, so only the owner is offered it.
  const state = session.state();
  const allowed = ideAllowances((permission) => can(state, permission), {
    owner: state.status === 'signedIn' && state.user.id === props.workspace.ownerId,
  });
  const id = props.workspace.id;
  const tree = createFileTreeStore(apis.files, id);
  const tabs = createEditorTabsStore(apis.files, id);
  const runs = createRunStore({ executions: apis.executions, workspaceId: id });
  const layout = createIdeLayoutStore(safeLocalStorage(window));
  const snapshots = createSnapshotListStore(apis.fleet, id);
  onCleanup(() => snapshots.dispose());
  const [whereOpen, setWhereOpen] = createSignal(false);
  const [pushOpen, setPushOpen] = createSignal(false);
  const ai = createAiFeatures({
    apis,
    workspaceId: id,
    workspaceName: props.workspace.name,
    tabs,
    refreshFolder: (path) => void tree.refresh(path),
    toggleKeys: shortcutLabel(['Alt', 'A'], MAC),
  });
  const [paletteOpen, setPaletteOpen] = createSignal(false);
  const [quickOpenOpen, setQuickOpenOpen] = createSignal(false);
  const [searchOpen, setSearchOpen] = createSignal(false);
  let focusSearch: (() => void) | undefined;
  const [pendingExit, setPendingExit] = createSignal<PendingExit>();
  const [confirmAction, setConfirmAction] = createSignal<'stop' | 'restart'>();
  const [notice, setNotice] = createSignal<string>();
  let focusEditor: () => void = () => {};
  let runInput: HTMLInputElement | undefined;

  const openFile = async (path: string, focus = false) => {
    // A file opened from the tree is shown, not the diff tab over the editor.
    git.closeDiff();
    await tabs.open(path);
    if (focus) queueMicrotask(() => focusEditor());
  };
  const files = createFileActions({
    tree,
    tabs,
    operations: createFileOperations(apis.files, id),
    openFile: (path) => void openFile(path, true),
  });

  const status = () => props.workspace.status;
  const running = () => status() === 'running';
  const blockedReason = () =>
    running()
      ? undefined
      : status() === 'creating' || status() === 'starting'
        ? 'The workspace is starting…'
        : status() === 'relocating'
          ? 'The workspace is moving to another host…'
          : status() === 'queued'
            ? 'The workspace waits for a runner with room…'
            : 'The workspace is not running. Start it to run commands.';

  // Files appear once the workspace runs, and are read again after it was restarted, moved to
  // another host or restored from a snapshot (see files-freshness.ts): the tree and every open
  // tab without unsaved changes are read afresh (tabs with changes keep them; saving them later
  // meets the usual conflict check).
  const filesFreshness = createFilesFreshness();
  createEffect(
    on([running, () => props.workspace.updatedAt], ([isRunning, changedAt]) => {
      const action = filesFreshness(isRunning, changedAt);
      if (action === 'read-again' && tree.directory('') !== undefined) {
        void tree.refreshAll();
        for (const path of tabs.paths())
          if (!tabs.isDirty(path)) void tabs.reload(path).catch(() => undefined);
      } else if (action) void tree.expand('');
    }),
  );
  // Saving can create files and folders: show them.
  onCleanup(tabs.onSaved((path) => void tree.refresh(parentOf(path))));
  // Source control (git/): a pull, a switch or a discard changes files under the tree and the
  // tabs, which read them again; a save changes what Git sees.
  const [sideView, setSideView] = createSignal<'files' | 'git'>('files');
  const git = createGitStore({
    api: apis.git,
    workspaceId: id,
    onFilesChanged: () => {
      void tree.refreshAll();
      for (const path of tabs.paths()) if (!tabs.isDirty(path)) void tabs.reload(path).catch(() => undefined);
    },
  });
  onCleanup(tabs.onSaved(() => void (running() && git.refresh())));
  // Quick open answers from the runner's index of the workspace's file names, which the first
  // query builds (a listing of every file). Asked for once the workspace runs, so the person's
  // first Ctrl/Cmd+P finds it built.
  createEffect(
    on(running, (now) => {
      if (now) void apis.search.quickOpen(id, '', 1).catch(() => undefined);
    }),
  );
  createEffect(on(tabs.active, () => git.closeDiff(), { defer: true }));
  onCleanup(() => runs.dispose());

  createEffect(() => {
    const dirty = tabs.dirtyPaths().length > 0;
    document.title = `${dirty ? '● ' : ''}${props.workspace.name} · Keel`;
  });

  // Unsaved work survives neither a reload nor leaving: ask first, in both cases.
  const beforeUnload = (event: BeforeUnloadEvent) => {
    if (tabs.dirtyPaths().length === 0) return;
    event.preventDefault();
    event.returnValue = '';
  };
  window.addEventListener('beforeunload', beforeUnload);
  onCleanup(() => window.removeEventListener('beforeunload', beforeUnload));
  useBeforeLeave((event) => {
    if (event.defaultPrevented || tabs.dirtyPaths().length === 0) return;
    event.preventDefault();
    setPendingExit({ kind: 'leave', leave: () => event.retry(true) });
  });

  async function save(path: string | undefined): Promise<void> {
    if (path === undefined) return;
    setNotice(undefined);
    try {
      const outcome = await tabs.save(path);
      if (outcome === 'conflict') tabs.activate(path);
    } catch (error) {
      setNotice(`Could not save ${path}: ${errorMessage(error)}`);
    }
  }

  async function saveAll(paths: readonly string[]): Promise<void> {
    for (const path of paths) {
      const outcome = await tabs.save(path);
      if (outcome === 'conflict') {
        tabs.activate(path);
        throw new Error(`${path} changed on the server. Choose which version to keep, then try again.`);
      }
    }
  }

  function closeTab(path: string | undefined): void {
    if (path === undefined) return;
    if (tabs.close(path) === 'dirty') setPendingExit({ kind: 'close', path });
  }

  function finishExit(discard: boolean): void {
    const exit = pendingExit();
    setPendingExit(undefined);
    if (exit === undefined) return;
    if (exit.kind === 'close') tabs.close(exit.path, { force: discard });
    else exit.leave();
  }

  const actions = {
    save: () => void save(tabs.active()),
    saveAll: () => void saveAll(tabs.dirtyPaths()).catch((error) => setNotice(errorMessage(error))),
    closeTab: () => closeTab(tabs.active()),
    newFile: () => files.actions.newFile(),
    newFolder: () => files.actions.newFolder(),
    renameSelected: () => {
      const path = tree.selected();
      if (path) files.actions.rename(path);
    },
    deleteSelected: () => {
      const path = tree.selected();
      if (path) files.actions.remove(path);
    },
    refreshFiles: () => void tree.refreshAll(),
    toggleSidebar: () => layout.set({ sidebarOpen: !layout.layout().sidebarOpen }),
    togglePanel: () => layout.set({ panelOpen: !layout.layout().panelOpen }),
    focusRun: () => {
      layout.set({ panelOpen: true, panelTab: 'run' });
      queueMicrotask(() => runInput?.focus());
    },
    showTerminal: () => {
      const showing = layout.layout().panelOpen && layout.layout().panelTab === 'terminal';
      layout.set({ panelOpen: !showing, panelTab: 'terminal' });
      if (!showing)
        setTimeout(() => document.querySelector<HTMLElement>('.terminal-host textarea')?.focus(), 50);
    },
    cycleTheme: () => theme.cycle(),
    toggleAiPanel: ai.togglePanel,
    explainSelection: ai.explainSelection,
    rewriteSelection: ai.rewriteSelection,
    openPalette: () => setPaletteOpen(true),
    backToWorkspaces: () => navigate('/'),
    startWorkspace: () => void act('start'),
    stopWorkspace: () => setConfirmAction('stop'),
    restartWorkspace: () => setConfirmAction('restart'),
    gitPush: () => setPushOpen(true),
    showSourceControl: () => {
      layout.set({ sidebarOpen: true });
      setSideView('git');
    },
    quickOpen: () => setQuickOpenOpen(true),
    searchFiles: () => {
      if (searchOpen()) focusSearch?.();
      else setSearchOpen(true);
    },
  };
  const commands = allowedCommands(
    ideCommands(actions, {
      hasActiveFile: () => tabs.active() !== undefined,
      hasDirtyFiles: () => tabs.dirtyPaths().length > 0,
      hasSelection: () => tree.selected() !== undefined,
      running,
      canStart: () => status() === 'stopped' || status() === 'failed',
      canUseSelection: ai.canUseSelection,
    }),
    allowed,
  );
  useShortcuts(
    () => commands,
    MAC,
    () => document.querySelector('dialog[open]') !== null,
  );

  async function act(action: 'start' | 'stop' | 'restart'): Promise<void> {
    setNotice(undefined);
    try {
      await props.watch.act(action);
    } catch (error) {
      setNotice(`Could not ${action} the workspace: ${errorMessage(error)}`);
    }
  }

  const paletteKeys = shortcutLabel(['Mod', 'Shift', 'P'], MAC);

  async function takeSnapshot(): Promise<void> {
    setNotice(undefined);
    try {
      await snapshots.take();
      layout.set({ panelOpen: true, panelTab: 'snapshots' });
    } catch (error) {
      setNotice(`Could not take a snapshot: ${errorMessage(error)}`);
    }
  }

  return (
    <div
      class="ide"
      style={{
        '--sidebar-width': `${layout.layout().sidebarWidth}px`,
        '--panel-height': `${layout.layout().panelHeight}px`,
      }}
    >
      <IdeHeader
        workspace={props.workspace}
        paletteKeys={paletteKeys}
        sidebarOpen={layout.layout().sidebarOpen}
        panelOpen={layout.layout().panelOpen}
        onPalette={actions.openPalette}
        onToggleSidebar={actions.toggleSidebar}
        onTogglePanel={actions.togglePanel}
        snapshotPending={snapshots.taking()}
        onSnapshot={() => void takeSnapshot()}
        onWhere={() => setWhereOpen(true)}
        canWork={allowed.work}
        canPush={allowed.push}
        onPush={actions.gitPush}
      />
      <Show when={!allowed.work}>
        <div class="ide-banner ide-read-only" role="note">
          <p>{READ_ONLY_NOTE}</p>
        </div>
      </Show>
      <Show when={!running()}>
        <div class="ide-banner" role="status">
          <Switch>
            <Match when={status() === 'stopped' || status() === 'failed'}>
              <p>
                {status() === 'failed'
                  ? `This workspace failed${props.workspace.statusReason ? `: ${props.workspace.statusReason}` : '.'}`
                  : 'This workspace is stopped.'}{' '}
                {allowed.work
                  ? 'Start it to browse its files, run commands and open a terminal.'
                  : 'Someone who may work in it has to start it.'}
              </p>
              <Show when={allowed.work}>
                <Button
                  size="small"
                  pending={props.watch.pendingAction() === 'start'}
                  pendingLabel="Starting…"
                  onClick={() => void act('start')}
                >
                  Start workspace
                </Button>
              </Show>
            </Match>
            <Match when={status() === 'relocating'}>
              <p>
                <span class="spinner spinner-small" aria-hidden="true" /> The workspace is moving to another
                host{props.workspace.statusReason ? ` (${props.workspace.statusReason})` : ''}. Its files come
                along; open files stay here and are read again when it runs.
              </p>
            </Match>
            <Match when={status() === 'queued'}>
              <p>
                <span class="spinner spinner-small" aria-hidden="true" /> The workspace is queued
                {props.workspace.statusReason ? `: ${props.workspace.statusReason}` : ''}. It starts when a
                runner has room.
              </p>
            </Match>
            <Match when={true}>
              <p>
                <span class="spinner spinner-small" aria-hidden="true" /> The workspace is {status()}…
              </p>
            </Match>
          </Switch>
        </div>
      </Show>
      <div class="ide-body">
        <Show when={layout.layout().sidebarOpen}>
          <aside id="ide-sidebar" class="ide-sidebar" aria-label="Workspace files">
            <div class="ide-activity" role="toolbar" aria-label="Side bar views">
              <button
                type="button"
                class="ide-activity-button"
                aria-pressed={sideView() === 'files'}
                onClick={() => setSideView('files')}
              >
                Files
              </button>
              <button
                type="button"
                class="ide-activity-button"
                aria-pressed={sideView() === 'git'}
                disabled={!running()}
                onClick={() => setSideView('git')}
              >
                Source control
                <Show when={changeCount(git.status()) > 0}>
                  <span class="scm-badge">{changeCount(git.status())}</span>
                </Show>
              </button>
            </div>
            <Show when={sideView() === 'git' && running()}>
              <SourceControlView store={git} canWrite={allowed.work} canSync={allowed.push} mac={MAC} />
            </Show>
            <Show
              when={
                sideView() === 'files' || !running() ? running() || tree.directory('') !== undefined : false
              }
              fallback={
                <Show when={sideView() === 'files' || !running()}>
                  <EmptyState title="Files appear here" class="tree-note">
                    <p>Start the workspace to browse its files.</p>
                  </EmptyState>
                </Show>
              }
            >
              <FileTree
                tree={tree}
                actions={files.actions}
                isDirty={tabs.isDirty}
                onOpenFile={(path) => void openFile(path)}
                readOnly={!allowed.work}
              />
            </Show>
          </aside>
          <ResizeHandle
            orientation="vertical"
            label="Resize the file tree"
            controls="ide-sidebar"
            value={layout.layout().sidebarWidth}
            min={LAYOUT_LIMITS.sidebarWidth.min}
            max={LAYOUT_LIMITS.sidebarWidth.max}
            onResize={(sidebarWidth) => layout.set({ sidebarWidth })}
          />
        </Show>
        <Show when={searchOpen()}>
          <aside class="ide-search" aria-label="Search">
            <SearchPanel
              workspaceId={id}
              search={apis.search}
              files={apis.files}
              patch={apis.patch}
              theme={theme.theme()}
              canReplace={allowed.work}
              isDirty={tabs.isDirty}
              onOpenAt={(path, line, column) =>
                void openFile(path).then(() => revealLine(path, line, column))
              }
              onReplaced={(paths) => {
                for (const path of paths)
                  if (tabs.paths().includes(path)) void tabs.reload(path).catch(() => undefined);
              }}
              onClose={() => setSearchOpen(false)}
              focusRef={(focus) => {
                focusSearch = focus;
              }}
            />
          </aside>
        </Show>
        <main class="ide-main" aria-label="Editor and panels">
          <section class="ide-editor" aria-label="Editor">
            <Show when={tabs.paths().length > 0}>
              <EditorTabs tabs={tabs} onClose={closeTab} />
            </Show>
            <Show when={notice()}>
              {(message) => (
                <div class="ide-notice alert alert-error" role="alert">
                  <p>{message()}</p>
                  <button type="button" class="link-button" onClick={() => setNotice(undefined)}>
                    Dismiss
                  </button>
                </div>
              )}
            </Show>
            <Show when={git.openDiff()}>
              <GitDiffTab store={git} theme={theme.theme()} canWrite={allowed.work} />
            </Show>
            <div class="git-editor-slot" style={{ display: git.openDiff() ? 'none' : 'contents' }}>
              <EditorSetupContext.Provider
                value={(editor, monaco) => {
                  if (allowed.ai) ai.setupEditor(editor);
                  if (allowed.work)
                    attachLanguageServers(editor, monaco, {
                      workspaceId: props.workspace.id,
                      open: (path) => tabs.open(path),
                      readFile: async (path) => {
                        const file = await apis.files.read(props.workspace.id, path);
                        return file.encoding === 'utf8' ? file.content : undefined;
                      },
                    });
                }}
              >
                <EditorStage
                  tabs={tabs}
                  theme={theme.theme()}
                  newFileKeys={shortcutLabel(['Alt', 'N'], MAC)}
                  paletteKeys={paletteKeys}
                  onEditorReady={(focus) => {
                    focusEditor = focus;
                  }}
                  readOnly={!allowed.work}
                />
              </EditorSetupContext.Provider>
            </div>
            <Show when={allowed.ai}>
              <ai.Review theme={theme.theme()} />
            </Show>
          </section>
          <Show when={layout.layout().panelOpen}>
            <ResizeHandle
              orientation="horizontal"
              label="Resize the bottom panel"
              controls="ide-panel"
              value={layout.layout().panelHeight}
              min={LAYOUT_LIMITS.panelHeight.min}
              max={LAYOUT_LIMITS.panelHeight.max}
              growsTowardStart
              onResize={(panelHeight) => layout.set({ panelHeight })}
            />
            <section id="ide-panel" class="ide-panel" aria-label="Run and terminal">
              <BottomPanel
                tab={layout.layout().panelTab}
                onTab={(panelTab) => layout.set({ panelTab })}
                run={
                  !allowed.work ? (
                    <p class="panel-note">{READ_ONLY_NOTE}</p>
                  ) : (
                    <RunPanel
                      runs={runs}
                      blockedReason={blockedReason()}
                      inputRef={(element) => {
                        runInput = element;
                      }}
                    />
                  )
                }
                terminal={() =>
                  !allowed.work ? (
                    <p class="panel-note">{READ_ONLY_NOTE}</p>
                  ) : (
                    <TerminalPanel
                      workspaceId={id}
                      theme={theme.theme()}
                      visible={layout.layout().panelTab === 'terminal'}
                      blockedReason={blockedReason()}
                      beforeConnect={() => apis.workspaces.status(id)}
                    />
                  )
                }
                snapshots={() => (
                  <SnapshotsPanel
                    store={snapshots}
                    workspaceName={props.workspace.name}
                    onRestoring={() => void props.watch.load()}
                  />
                )}
                ports={() => {
                  const ports = apis.ports;
                  if (!ports || !allowed.work) return <p class="panel-note">{READ_ONLY_NOTE}</p>;
                  return <PortsPanel api={ports} workspaceId={id} owner={allowed.push} />;
                }}
              />
            </section>
          </Show>
        </main>
        <Show when={allowed.ai}>
          <ai.Sidebar />
        </Show>
      </div>
      <StatusBar workspace={props.workspace} tabs={tabs} paletteKeys={paletteKeys} />
      <PlacementDialog open={whereOpen()} workspaceId={id} onClose={() => setWhereOpen(false)} />
      <Show when={allowed.push}>
        <GitPushDialog
          open={pushOpen()}
          running={running()}
          push={(request) => apis.account.pushWorkspace(id, request)}
          onClose={() => setPushOpen(false)}
        />
      </Show>
      <files.Dialogs />
      <ai.Dialogs />
      <QuickOpen
        open={quickOpenOpen()}
        workspaceId={id}
        search={apis.search}
        onOpen={(path) => void openFile(path, true)}
        onClose={() => setQuickOpenOpen(false)}
      />
      <CommandPalette
        open={paletteOpen()}
        commands={commands}
        mac={MAC}
        onClose={() => setPaletteOpen(false)}
      />
      <UnsavedChangesDialog
        paths={(() => {
          const exit = pendingExit();
          if (exit === undefined) return [];
          return exit.kind === 'close' ? [exit.path] : tabs.dirtyPaths();
        })()}
        reason={pendingExit()?.kind === 'close' ? 'closing it' : 'leaving this workspace'}
        onSave={async () => {
          const exit = pendingExit();
          await saveAll(exit?.kind === 'close' ? [exit.path] : tabs.dirtyPaths());
          finishExit(false);
        }}
        onDiscard={() => finishExit(true)}
        onCancel={() => setPendingExit(undefined)}
      />
      <Show when={confirmAction()}>
        {(action) => (
          <ConfirmDialog
            open
            danger={action() === 'stop'}
            title={action() === 'stop' ? 'Stop this workspace?' : 'Restart this workspace?'}
            confirmLabel={action() === 'stop' ? 'Stop workspace' : 'Restart workspace'}
            pendingLabel={action() === 'stop' ? 'Stopping…' : 'Restarting…'}
            onConfirm={async () => {
              await props.watch.act(action());
              setConfirmAction(undefined);
            }}
            onCancel={() => setConfirmAction(undefined)}
          >
            <p>
              Running commands and the terminal end. Files are kept. Unsaved changes in open tabs stay here.
            </p>
          </ConfirmDialog>
        )}
      </Show>
    </div>
  );
}
