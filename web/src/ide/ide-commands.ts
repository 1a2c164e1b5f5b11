import type { Command } from './commands.ts';

/** The actions the IDE offers, wired by the workbench; each becomes a palette entry and maybe a shortcut. */
export interface IdeActions {
  save(): void;
  saveAll(): void;
  closeTab(): void;
  newFile(): void;
  newFolder(): void;
  renameSelected(): void;
  deleteSelected(): void;
  refreshFiles(): void;
  toggleSidebar(): void;
  togglePanel(): void;
  focusRun(): void;
  showTerminal(): void;
  cycleTheme(): void;
  toggleAiPanel(): void;
  explainSelection(): void;
  rewriteSelection(): void;
  openPalette(): void;
  backToWorkspaces(): void;
  startWorkspace(): void;
  stopWorkspace(): void;
  restartWorkspace(): void;
  gitPush(): void;
  /** The side bar's Source control view (git/source-control-view.tsx). */
  showSourceControl?(): void;
  quickOpen(): void;
  searchFiles(): void;
}

export interface IdeConditions {
  hasActiveFile(): boolean;
  hasDirtyFiles(): boolean;
  hasSelection(): boolean;
  running(): boolean;
  canStart(): boolean;
  /** A text file is open: there is code to explain or rewrite. */
  canUseSelection(): boolean;
}

/** The palette's contents, in the order people look for them. Shortcuts use 'Mod' for Ctrl / ⌘. */
export function ideCommands(actions: IdeActions, when: IdeConditions): Command[] {
  return [
    {
      id: 'palette',
      title: 'Show all commands',
      keys: ['Mod', 'Shift', 'P'],
      run: actions.openPalette,
      inTerminal: true,
    },
    { id: 'quick-open', title: 'Go to file…', keys: ['Mod', 'P'], run: actions.quickOpen },
    { id: 'search', title: 'Search: Find in files', keys: ['Mod', 'Shift', 'F'], run: actions.searchFiles },
    { id: 'save', title: 'File: Save', keys: ['Mod', 'S'], run: actions.save, enabled: when.hasActiveFile },
    {
      id: 'save-all',
      title: 'File: Save all',
      keys: ['Mod', 'Alt', 'S'],
      run: actions.saveAll,
      enabled: when.hasDirtyFiles,
    },
    {
      id: 'close-tab',
      title: 'File: Close tab',
      keys: ['Alt', 'W'],
      run: actions.closeTab,
      enabled: when.hasActiveFile,
    },
    {
      id: 'new-file',
      title: 'File: New file…',
      keys: ['Alt', 'N'],
      run: actions.newFile,
      enabled: when.running,
    },
    {
      id: 'new-folder',
      title: 'File: New folder…',
      keys: ['Alt', 'Shift', 'N'],
      run: actions.newFolder,
      enabled: when.running,
    },
    {
      id: 'rename',
      title: 'File: Rename selected… (F2 in the tree)',
      run: actions.renameSelected,
      enabled: when.hasSelection,
    },
    {
      id: 'delete',
      title: 'File: Delete selected… (Delete in the tree)',
      run: actions.deleteSelected,
      enabled: when.hasSelection,
    },
    { id: 'refresh', title: 'File: Refresh the file tree', run: actions.refreshFiles, enabled: when.running },
    { id: 'run', title: 'Run: Run a command…', keys: ['Alt', 'R'], run: actions.focusRun },
    {
      id: 'terminal',
      title: 'Terminal: Show terminal',
      keys: ['Ctrl', '`'],
      run: actions.showTerminal,
      inTerminal: true,
    },
    { id: 'git-push', title: 'Git: Push…', run: actions.gitPush, enabled: when.running },
    {
      id: 'git-view',
      title: 'Git: Show source control',
      keys: ['Mod', 'Shift', 'G'],
      run: () => actions.showSourceControl?.(),
      enabled: when.running,
    },
    { id: 'ai-panel', title: 'AI: Toggle the AI panel', keys: ['Alt', 'A'], run: actions.toggleAiPanel },
    {
      id: 'ai-explain',
      title: 'AI: Explain selection',
      run: actions.explainSelection,
      enabled: when.canUseSelection,
    },
    {
      id: 'ai-rewrite',
      title: 'AI: Rewrite selection…',
      run: actions.rewriteSelection,
      enabled: when.canUseSelection,
    },
    { id: 'sidebar', title: 'View: Toggle file tree', keys: ['Mod', 'B'], run: actions.toggleSidebar },
    { id: 'panel', title: 'View: Toggle bottom panel', keys: ['Mod', 'J'], run: actions.togglePanel },
    { id: 'theme', title: 'View: Switch theme (light, dark, system)', run: actions.cycleTheme },
    { id: 'start', title: 'Workspace: Start', run: actions.startWorkspace, enabled: when.canStart },
    { id: 'stop', title: 'Workspace: Stop…', run: actions.stopWorkspace, enabled: when.running },
    { id: 'restart', title: 'Workspace: Restart…', run: actions.restartWorkspace, enabled: when.running },
    { id: 'back', title: 'Workspace: Back to all workspaces', run: actions.backToWorkspaces },
  ];
}
