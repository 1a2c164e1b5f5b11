import { workspaceUri } from '../lsp/language-servers.ts';
import { loadMonaco } from '../monaco/load-monaco.ts';

/**
 * Puts the cursor on a line (and column) of the editor showing `path`, once it shows it: the tab is
 * opened first and its editor gets the model a moment later. Gives up quietly after `timeoutMs`.
 */
export async function revealLine(
  path: string,
  line: number,
  column = 1,
  timeoutMs = 3_000,
): Promise<boolean> {
  const monaco = await loadMonaco();
  // The editor's model is named as code-editor.tsx names it (the URI its language server knows).
  const uri = monaco.Uri.parse(workspaceUri(path)).toString();
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const editor = monaco.editor.getEditors().find((e) => e.getModel()?.uri.toString() === uri);
    if (editor) {
      editor.setPosition({ lineNumber: line, column });
      editor.revealLineInCenter(line);
      editor.focus();
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
