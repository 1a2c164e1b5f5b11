import type { Monaco } from './monaco-environment.ts';

export type DiffEditorOptions = NonNullable<Parameters<Monaco['editor']['createDiffEditor']>[1]>;

export interface DiffViewInput {
  /** The left side: the version that is there now. */
  original: string;
  /** The right side: the version proposed. */
  modified: string;
  language: string | undefined;
  options: DiffEditorOptions;
}

/**
 * Shows two texts in Monaco's diff editor, read as given; the returned function takes it all down again.
 *
 * Taking it down also repairs what disposing a diff editor breaks in Monaco: every standalone code editor
 * Monaco builds, the two inside a diff editor included, points Monaco's global hover-delegate factory at its
 * own instantiation service, and a diff editor's service is disposed with it. From then on, whatever draws
 * a menu or a hover (the code editor's context menu with "Explain selection", for one) throws
 * "InstantiationService has been disposed". A plain editor, made and dropped at once, points the factory back
 * at Monaco's global services, which live as long as the page.
 */
export function showDiff(monaco: Monaco, container: HTMLElement, input: DiffViewInput): () => void {
  const original = monaco.editor.createModel(input.original, input.language);
  const modified = monaco.editor.createModel(input.modified, input.language);
  const diff = monaco.editor.createDiffEditor(container, input.options);
  diff.setModel({ original, modified });
  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    diff.dispose();
    original.dispose();
    modified.dispose();
    monaco.editor.create(container.ownerDocument.createElement('div'), { model: null }).dispose();
  };
}
