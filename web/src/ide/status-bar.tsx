import type { Workspace } from '@keel/contract/workspaces';
import { Show } from 'solid-js';
import { STATUS_LABELS } from '../workspaces/workspace-status.ts';
import type { EditorTabsStore } from './editor-tabs-store.ts';
import { languageForPath } from './language-for-path.ts';
import { languageServerLabel, languageServerStatus } from './lsp/editor-language-servers.ts';

/** The strip under the IDE: the workspace's state, and the active file's language and save state. */
export function StatusBar(props: { workspace: Workspace; tabs: EditorTabsStore; paletteKeys: string }) {
  const active = () => {
    const path = props.tabs.active();
    return path === undefined ? undefined : props.tabs.tab(path);
  };
  const saveState = () => {
    const tab = active();
    if (tab === undefined || tab.status !== 'ready' || tab.binary) return '';
    if (tab.saving) return 'Saving…';
    if (tab.conflict) return 'Conflicts with the server';
    return props.tabs.isDirty(tab.path) ? 'Unsaved changes' : 'Saved';
  };

  return (
    <footer class="status-bar">
      <span>Workspace {STATUS_LABELS[props.workspace.status].toLowerCase()}</span>
      <Show when={active()}>
        {(tab) => (
          <>
            <span class="status-bar-path">{tab().path}</span>
            <span>{languageForPath(tab().path)}</span>
            <Show when={languageServerStatus(languageForPath(tab().path))}>
              {(lsp) => <span class="status-bar-lsp">{languageServerLabel(lsp())}</span>}
            </Show>
            <span role="status" class="status-bar-save">
              {saveState()}
            </span>
          </>
        )}
      </Show>
      <span class="status-bar-hint">{props.paletteKeys}: commands</span>
    </footer>
  );
}
