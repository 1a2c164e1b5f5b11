import type { Workspace } from '@keel/contract/workspaces';
import { Show } from 'solid-js';
import { Brand } from '../components/brand.tsx';
import { Button } from '../components/button.tsx';
import { IconButton } from '../components/icon-button.tsx';
import { BackIcon, CommandIcon, PanelIcon, SidebarIcon } from '../components/icons.tsx';
import { ThemeToggle } from '../theme/theme-toggle.tsx';
import { StatusBadge } from '../workspaces/status-badge.tsx';

export interface IdeHeaderProps {
  workspace: Workspace;
  paletteKeys: string;
  sidebarOpen: boolean;
  panelOpen: boolean;
  onPalette: () => void;
  onToggleSidebar: () => void;
  onTogglePanel: () => void;
  snapshotPending: boolean;
  onSnapshot: () => void;
  onWhere: () => void;
  /** Whether the person may take snapshots (`workspaces:use`); without it the button is not there. */
  canWork: boolean;
  /** Whether the person may push (the workspace's owner, who may work in it); else no Push button. */
  canPush: boolean;
  onPush: () => void;
}

/** The IDE's top bar: the way back, which workspace this is and its state, and the view controls. */
export function IdeHeader(props: IdeHeaderProps) {
  return (
    <header class="ide-header">
      <div class="ide-header-start">
        {/* The name includes the visible "Keel", so speech users can say what they see. */}
        <a href="/" class="ide-back">
          <BackIcon />
          <Brand />
          <span class="visually-hidden">: all workspaces</span>
        </a>
        <span class="ide-divider" aria-hidden="true">
          /
        </span>
        <h1 class="ide-title">{props.workspace.name}</h1>
        <StatusBadge status={props.workspace.status} />
      </div>
      <div class="ide-header-end">
        <Show when={props.canWork}>
          <Button
            size="small"
            variant="secondary"
            pending={props.snapshotPending}
            pendingLabel="Asking…"
            disabled={props.workspace.status === 'relocating' || props.workspace.status === 'deleting'}
            onClick={props.onSnapshot}
          >
            Snapshot
          </Button>
        </Show>
        <Show when={props.canPush}>
          <Button
            size="small"
            variant="secondary"
            disabled={props.workspace.status !== 'running'}
            title={
              props.workspace.status === 'running'
                ? 'Push to a Git remote with your kept token'
                : 'Start the workspace to push from it'
            }
            onClick={props.onPush}
          >
            Push
          </Button>
        </Show>
        <Button size="small" variant="secondary" onClick={props.onWhere}>
          Where it runs
        </Button>
        <button type="button" class="palette-button" onClick={props.onPalette}>
          <CommandIcon />
          <span>Commands</span>
          <kbd class="shortcut">{props.paletteKeys}</kbd>
        </button>
        <IconButton label="Show the file tree" pressed={props.sidebarOpen} onClick={props.onToggleSidebar}>
          <SidebarIcon />
        </IconButton>
        <IconButton label="Show the bottom panel" pressed={props.panelOpen} onClick={props.onTogglePanel}>
          <PanelIcon />
        </IconButton>
        <ThemeToggle />
      </div>
    </header>
  );
}
