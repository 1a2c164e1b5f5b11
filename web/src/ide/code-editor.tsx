import {
  createContext,
  createEffect,
  createSignal,
  on,
  onCleanup,
  onMount,
  Show,
  useContext,
} from 'solid-js';
import { Button } from '../components/button.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { errorMessage } from '../forms/error-message.ts';
import type { Theme } from '../theme/theme-store.ts';
import type { EditorTabsStore } from './editor-tabs-store.ts';
import { languageForPath } from './language-for-path.ts';
import { workspaceUri } from './lsp/language-servers.ts';
import { loadMonaco } from './monaco/load-monaco.ts';
import type { Monaco } from './monaco/monaco-environment.ts';

type Editor = ReturnType<Monaco['editor']['create']>;
type Model = ReturnType<Monaco['editor']['createModel']>;
type ViewState = ReturnType<Editor['saveViewState']>;
export type CodeEditorInstance = Editor;

/**
 * Lets the IDE add to the editor once it exists (context-menu actions, for one) without the editor knowing
 * about each feature. Anything it registers is disposed with the editor.
 */
export const EditorSetupContext = createContext<(editor: Editor, monaco: Monaco) => void>();

export interface CodeEditorProps {
  tabs: EditorTabsStore;
  theme: Theme;
  /** Whether the active tab is one this editor shows (ready text, no conflict); hidden otherwise. */
  visible: boolean;
  onEditorReady?: (focus: () => void) => void;
  /** Shown but not editable: for people who may read the workspace and not write to it. */
  readOnly?: boolean;
}

export const MONACO_THEMES: Record<Theme, string> = { light: 'vs', dark: 'vs-dark' };

/**
 * One Monaco editor for all tabs: each open file has its own model (text, undo history, language) and view
 * state (cursor, scroll), swapped in when its tab is activated, as VS Code does. Models are the editor's
 * copy; every change is reported to the tabs store, which owns saving and the dirty state.
 */
export function CodeEditor(props: CodeEditorProps) {
  const [monaco, setMonaco] = createSignal<Monaco>();
  const [loadError, setLoadError] = createSignal<unknown>();
  const setup = useContext(EditorSetupContext);
  const models = new Map<string, Model>();
  const viewStates = new Map<string, ViewState>();
  const revisions = new Map<string, number>();
  let container: HTMLDivElement | undefined;
  let editor: Editor | undefined;
  let shownPath: string | undefined;
  // Set while the store's text is written into a model, so that write is not reported back as typing.
  let applyingStoreText = false;
  let mounted = true;

  async function load(): Promise<void> {
    setLoadError(undefined);
    try {
      const loaded = await loadMonaco();
      if (!mounted || container === undefined) return;
      editor = loaded.editor.create(container, {
        model: null,
        theme: MONACO_THEMES[props.theme],
        automaticLayout: true,
        fontSize: 13,
        tabSize: 2,
        scrollBeyondLastLine: false,
        minimap: { enabled: false },
        fixedOverflowWidgets: true,
        ariaLabel: 'Editor',
        readOnly: props.readOnly === true,
        readOnlyMessage: { value: 'Read-only: your role lets you read this workspace, not change it.' },
      });
      editor.onDidChangeModelContent(() => {
        const model = editor?.getModel();
        if (applyingStoreText || !model || shownPath === undefined) return;
        props.tabs.edit(shownPath, model.getValue());
      });
      setMonaco(loaded);
      setup?.(editor, loaded);
      props.onEditorReady?.(() => editor?.focus());
    } catch (error) {
      setLoadError(error);
    }
  }

  function modelFor(m: Monaco, path: string): Model | undefined {
    const tab = props.tabs.tab(path);
    if (tab === undefined || tab.status !== 'ready' || tab.binary) return undefined;
    let model = models.get(path);
    if (model === undefined) {
      // The path the workspace's language servers see (web/src/ide/lsp); a model made for a
      // definition in a file no tab had open is taken over, with the tab's text.
      const uri = m.Uri.parse(workspaceUri(path));
      const existing = m.editor.getModel(uri);
      if (existing && existing.getValue() !== tab.content) existing.setValue(tab.content);
      if (existing) m.editor.setModelLanguage(existing, languageForPath(path));
      model = existing ?? m.editor.createModel(tab.content, languageForPath(path), uri);
      models.set(path, model);
      revisions.set(path, tab.revision);
    } else if (revisions.get(path) !== tab.revision) {
      // The store replaced the text (a reload): take it, as one undoable edit rather than losing history.
      revisions.set(path, tab.revision);
      if (model.getValue() !== tab.content) {
        applyingStoreText = true;
        model.pushEditOperations([], [{ range: model.getFullModelRange(), text: tab.content }], () => null);
        applyingStoreText = false;
      }
    }
    return model;
  }

  // Show the active tab's model, keeping the cursor and scroll of the one it replaces.
  createEffect(() => {
    const m = monaco();
    const path = props.tabs.active();
    const tab = path === undefined ? undefined : props.tabs.tab(path);
    if (m === undefined || editor === undefined) return;
    void tab?.revision;
    void tab?.status;
    const model = path === undefined ? undefined : modelFor(m, path);
    if (shownPath === path && editor.getModel() === (model ?? null)) return;
    if (shownPath !== undefined && editor.getModel() !== null)
      viewStates.set(shownPath, editor.saveViewState());
    shownPath = model === undefined ? undefined : path;
    editor.setModel(model ?? null);
    if (path !== undefined && model !== undefined) {
      const state = viewStates.get(path);
      if (state) editor.restoreViewState(state);
      editor.updateOptions({ ariaLabel: `Editor: ${path}${props.readOnly ? ' (read-only)' : ''}` });
    }
  });

  // Closed tabs give their models back; a rename shows up as a close of the old path and an open of the new.
  createEffect(
    on(props.tabs.paths, (open) => {
      for (const [path, model] of models) {
        if (open.includes(path)) continue;
        if (shownPath === path) {
          editor?.setModel(null);
          shownPath = undefined;
        }
        model.dispose();
        models.delete(path);
        viewStates.delete(path);
        revisions.delete(path);
      }
    }),
  );

  createEffect(() => {
    const m = monaco();
    m?.editor.setTheme(MONACO_THEMES[props.theme]);
  });

  // The editor does not see its own container being shown again; it must lay out once visible.
  createEffect(
    on(
      () => props.visible,
      (visible) => {
        if (visible) queueMicrotask(() => editor?.layout());
      },
    ),
  );

  onMount(() => void load());
  onCleanup(() => {
    mounted = false;
    editor?.dispose();
    for (const model of models.values()) model.dispose();
    models.clear();
  });

  return (
    <div class="code-editor" classList={{ hidden: !props.visible }}>
      <Show when={!monaco() && !loadError()}>
        <LoadingIndicator label="Loading the editor…" class="editor-placeholder" />
      </Show>
      <Show when={loadError()}>
        {(error) => (
          <div class="editor-placeholder alert alert-error" role="alert">
            <p>The editor could not be loaded. {errorMessage(error())}</p>
            <Button variant="secondary" size="small" onClick={() => void load()}>
              Try again
            </Button>
          </div>
        )}
      </Show>
      <div ref={container} class="code-editor-surface" />
    </div>
  );
}
