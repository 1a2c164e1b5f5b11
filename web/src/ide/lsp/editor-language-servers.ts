import type { LspLanguage } from '@keel/contract/lsp';
import { createSignal } from 'solid-js';
import type { CodeEditorInstance } from '../code-editor.tsx';
import type { Monaco } from '../monaco/monaco-environment.ts';
import { setTypeScriptWorkerFeatures } from '../monaco/typescript-diagnostics.ts';
import {
  connectLanguageServer,
  type LspView,
  lspLanguageFor,
  pathOfWorkspaceUri,
} from './language-servers.ts';

const [statuses, setStatuses] = createSignal<Partial<Record<LspLanguage, LspView>>>({});

/** The state of the workspace's language server for a Monaco language, for the status bar. */
export function languageServerStatus(monacoLanguage: string): LspView | undefined {
  const language = lspLanguageFor(monacoLanguage);
  return language ? statuses()[language] : undefined;
}

export function languageServerLabel(view: LspView): string {
  const state = { starting: 'starting…', ready: 'ready', failed: 'failed', stopped: 'stopped' }[view.state];
  return `Language server ${state}${view.message && view.state !== 'starting' ? `: ${view.message}` : ''}`;
}

export interface EditorLanguageServersOptions {
  workspaceId: string;
  /** Opens a workspace file in a tab (go to definition and references into another file). */
  open(path: string): Promise<void>;
  /** A workspace file's text (undefined when it is not text). */
  readFile(path: string): Promise<string | undefined>;
}

/**
 * Connects the editor to the workspace's language servers: one connection per language, made when a
 * file of that language is first opened; the TypeScript worker's own diagnostics and features step
 * aside while a TypeScript server is ready, so nothing is shown twice. Definitions in another file
 * open it in a tab.
 */
export function attachLanguageServers(
  editor: CodeEditorInstance,
  monaco: Monaco,
  o: EditorLanguageServersOptions,
): void {
  const open = new Map<LspLanguage, Promise<{ close(): void } | undefined>>();
  const setStatus = (language: LspLanguage, view: LspView) => {
    setStatuses((all) => ({ ...all, [language]: view }));
    if (language === 'typescript') setTypeScriptWorkerFeatures(monaco, view.state !== 'ready');
    // A connection that ended is made again when a file of its language is next opened.
    if (view.state === 'stopped' || view.state === 'failed') open.delete(language);
  };
  const ensure = (monacoLanguage: string) => {
    const language = lspLanguageFor(monacoLanguage);
    if (!language || open.has(language)) return;
    open.set(
      language,
      connectLanguageServer({
        monaco,
        workspaceId: o.workspaceId,
        language,
        onStatus: (view) => setStatus(language, view),
        readFile: o.readFile,
      }).catch((error: unknown) => {
        setStatus(language, {
          state: 'failed',
          message: error instanceof Error ? error.message : String(error),
        });
        return undefined;
      }),
    );
  };
  for (const model of monaco.editor.getModels()) ensure(model.getLanguageId());
  const created = monaco.editor.onDidCreateModel((model) => ensure(model.getLanguageId()));
  // F12 on a name declared twice (an interface and a constant of the same name, as zod's schemas
  // are) goes to the first in a tab, as the single answer does, rather than peeking at both inline.
  editor.updateOptions({
    gotoLocation: {
      multipleDefinitions: 'goto',
      multipleTypeDefinitions: 'goto',
      multipleDeclarations: 'goto',
      multipleImplementations: 'goto',
    },
  });
  const opener = monaco.editor.registerEditorOpener({
    openCodeEditor(_source, resource, selection) {
      const path = pathOfWorkspaceUri(resource.toString(true));
      if (path === undefined) return false;
      void o.open(path).then(() => revealWhenShown(editor, resource.toString(), selection));
      return true;
    },
  });
  editor.onDidDispose(() => {
    created.dispose();
    opener.dispose();
    for (const connection of open.values()) void connection.then((c) => c?.close());
    open.clear();
  });
}

type Selection = Parameters<Parameters<Monaco['editor']['registerEditorOpener']>[0]['openCodeEditor']>[2];

/** Once the tab's model is in the editor, the definition is selected and scrolled into view. */
function revealWhenShown(editor: CodeEditorInstance, uri: string, selection: Selection, tries = 50): void {
  if (editor.getModel()?.uri.toString() !== uri) {
    if (tries > 0) setTimeout(() => revealWhenShown(editor, uri, selection, tries - 1), 20);
    return;
  }
  if (!selection) return;
  if ('startLineNumber' in selection) {
    editor.setSelection(selection);
    editor.revealRangeInCenter(selection);
  } else {
    editor.setPosition(selection);
    editor.revealPositionInCenter(selection);
  }
  editor.focus();
}
