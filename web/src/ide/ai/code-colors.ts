import { loadMonaco } from '../monaco/load-monaco.ts';
import type { Monaco } from '../monaco/monaco-environment.ts';
import { sanitizeHtml } from './markdown.ts';

/** Colourings already made, so a streaming answer re-rendered on every token does not flicker or redo them. */
const colored = new Map<string, string>();
const KEEP = 64;
/** What a colourized block's code says, since its `<br>`s leave the newlines out of textContent. */
const sources = new WeakMap<Element, string>();

/**
 * Colours the fenced code blocks under `root` with Monaco's own tokenizers and theme, as in the editor.
 * Monaco is loaded on first use (the IDE has it already); until it is there, the code shows uncoloured.
 */
export function colorizeCodeBlocks(root: HTMLElement): void {
  for (const code of root.querySelectorAll<HTMLElement>('pre > code[class^="language-"]')) {
    const language = code.className.slice('language-'.length);
    const text = code.textContent ?? '';
    const key = `${language}\n${text}`;
    const html = colored.get(key);
    if (html !== undefined) {
      show(code, text, html);
      continue;
    }
    void colorize(language, text).then((html) => {
      if (html === undefined) return;
      colored.set(key, html);
      if (colored.size > KEEP) colored.delete(colored.keys().next().value as string);
      // Re-rendered (or removed) meanwhile: the element shown now gets its own colouring.
      if (code.isConnected && !sources.has(code) && code.textContent === text) show(code, text, html);
    });
  }
}

/** The code in a block as written, coloured or not: what its copy button copies. */
export function codeText(code: Element): string {
  return sources.get(code) ?? code.textContent ?? '';
}

function show(code: HTMLElement, text: string, html: string): void {
  sources.set(code, text);
  code.innerHTML = html;
}

async function colorize(language: string, text: string): Promise<string | undefined> {
  let monaco: Monaco;
  try {
    monaco = await loadMonaco();
  } catch {
    return undefined; // uncoloured code is still the code
  }
  const id = languageId(monaco, language);
  if (id === undefined) return undefined;
  // Monaco escapes the text it writes; sanitized all the same, as everything put into an answer is.
  return sanitizeHtml(await monaco.editor.colorize(text.replace(/\n$/, ''), id, { tabSize: 4 }));
}

/** A fence's language as Monaco knows it: by id, alias or file extension (`ts`, `py`, `sh`). */
function languageId(monaco: Monaco, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return monaco.languages
    .getLanguages()
    .find(
      (language) =>
        language.id === wanted ||
        language.aliases?.some((alias) => alias.toLowerCase() === wanted) ||
        language.extensions?.includes(`.${wanted}`),
    )?.id;
}
