import { Match, Switch } from 'solid-js';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { errorMessage } from '../forms/error-message.ts';
import type { Theme } from '../theme/theme-store.ts';
import { CodeEditor } from './code-editor.tsx';
import { ConflictEditor } from './conflict-editor.tsx';
import type { EditorTabsStore } from './editor-tabs-store.ts';

export interface EditorStageProps {
  tabs: EditorTabsStore;
  theme: Theme;
  newFileKeys: string;
  paletteKeys: string;
  onEditorReady: (focus: () => void) => void;
  readOnly?: boolean;
}

/**
 * What the editor area shows for the active tab: nothing open, loading, an error, a binary file, a save
 * conflict, or the editor itself. The editor stays mounted underneath, so its models survive the others.
 */
export function EditorStage(props: EditorStageProps) {
  const active = () => {
    const path = props.tabs.active();
    return path === undefined ? undefined : props.tabs.tab(path);
  };

  return (
    <div class="editor-stage">
      <Switch>
        <Match when={active() === undefined}>
          <EmptyState title="No file open">
            <p>
              Choose a file in the tree
              {props.readOnly ? (
                '. '
              ) : (
                <>
                  , or create one with <kbd>{props.newFileKeys}</kbd>.{' '}
                </>
              )}
              <kbd>{props.paletteKeys}</kbd> lists every command and its shortcut.
            </p>
          </EmptyState>
        </Match>
        <Match when={active()?.status === 'loading'}>
          <LoadingIndicator label={`Opening ${props.tabs.active()}…`} class="editor-placeholder" />
        </Match>
        <Match when={active()?.status === 'error' && active()}>
          {(tab) => (
            <div class="editor-placeholder alert alert-error" role="alert">
              <p>
                Could not open {tab().path}. {errorMessage(tab().error)}
              </p>
              <Button variant="secondary" size="small" onClick={() => void props.tabs.open(tab().path)}>
                Try again
              </Button>
            </div>
          )}
        </Match>
        <Match when={active()?.binary && active()}>
          {(tab) => (
            <EmptyState title={`${tab().path} is not a text file`}>
              <p>Keel opens text files only; binary files stay as they are.</p>
            </EmptyState>
          )}
        </Match>
        <Match when={active()?.conflict && active()}>
          {(tab) => (
            <ConflictEditor
              path={tab().path}
              conflict={tab().conflict!}
              mine={tab().content}
              theme={props.theme}
              onOverwrite={async () => {
                await props.tabs.overwrite(tab().path);
              }}
              onReload={() => props.tabs.reload(tab().path)}
            />
          )}
        </Match>
      </Switch>
      <CodeEditor
        tabs={props.tabs}
        theme={props.theme}
        visible={active()?.status === 'ready' && !active()?.binary && !active()?.conflict}
        onEditorReady={props.onEditorReady}
        readOnly={props.readOnly}
      />
    </div>
  );
}
