import { For, Show } from 'solid-js';
import { CloseIcon } from '../components/icons.tsx';
import type { EditorTabsStore } from './editor-tabs-store.ts';
import { baseName, parentOf } from './workspace-paths.ts';

export interface EditorTabsProps {
  tabs: EditorTabsStore;
  onClose: (path: string) => void;
}

/**
 * The open files. Plain buttons in a labelled list rather than an ARIA tablist: each tab has its own close
 * button, and a tablist may contain nothing but tabs.
 */
export function EditorTabs(props: EditorTabsProps) {
  /** Tabs with the same file name show their folder too, so two index.ts can be told apart. */
  const label = (path: string) => {
    const name = baseName(path);
    const twins = props.tabs.paths().filter((other) => baseName(other) === name);
    return twins.length > 1 && parentOf(path) !== '' ? `${name} — ${parentOf(path)}` : name;
  };

  return (
    <nav class="editor-tabs" aria-label="Open files">
      <ul class="editor-tab-list">
        <For each={props.tabs.paths()}>
          {(path) => {
            const active = () => props.tabs.active() === path;
            const dirty = () => props.tabs.isDirty(path);
            const conflict = () => props.tabs.tab(path)?.conflict !== undefined;
            return (
              <li class="editor-tab" classList={{ active: active(), dirty: dirty() }}>
                <button
                  type="button"
                  class="editor-tab-name"
                  title={path}
                  aria-current={active() ? 'true' : undefined}
                  aria-label={`${path}${dirty() ? ', unsaved changes' : ''}${conflict() ? ', conflicts with the server' : ''}`}
                  onClick={() => props.tabs.activate(path)}
                  onAuxClick={(event) => {
                    if (event.button === 1) props.onClose(path);
                  }}
                >
                  <Show when={conflict()}>
                    <span class="tab-conflict" aria-hidden="true">
                      !
                    </span>
                  </Show>
                  {label(path)}
                </button>
                <button
                  type="button"
                  class="editor-tab-close"
                  aria-label={`Close ${path}`}
                  title={dirty() ? 'Unsaved changes: close…' : 'Close'}
                  onClick={() => props.onClose(path)}
                >
                  <span class="dirty-dot" aria-hidden="true" />
                  <CloseIcon />
                </button>
              </li>
            );
          }}
        </For>
      </ul>
    </nav>
  );
}
