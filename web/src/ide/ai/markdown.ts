import DOMPurify, { type Config } from 'dompurify';
import { Marked } from 'marked';

/**
 * Model answers as HTML, in two steps that each keep raw HTML in the answer from running on its own:
 * marked renders the Markdown (GitHub's flavour: tables, strikethrough, line breaks) with the source's own
 * HTML shown as text and links only for http(s) URLs, then DOMPurify keeps only the tags and attributes
 * below. Streaming answers are re-rendered as they grow; marked tolerates the unfinished input that gives.
 */

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Only absolute http(s) URLs become links; anything else (javascript:, data:, relative) stays text. */
export function safeHref(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const markdown = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    // The source's own HTML, block or inline, is shown as what it is: text.
    html: (token) =>
      'block' in token && token.block
        ? `<p>${escapeHtml(token.text.trimEnd()).replaceAll('\n', '<br>')}</p>`
        : escapeHtml(token.text),
    heading({ tokens, depth }) {
      // Answers sit under the panel's own headings: their levels start below them.
      const level = Math.min(6, depth + 2);
      return `<h${level} class="md-heading">${this.parser.parseInline(tokens)}</h${level}>`;
    },
    link({ href, tokens }) {
      const label = this.parser.parseInline(tokens);
      const safe = safeHref(href);
      if (safe === undefined) return label;
      return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener noreferrer">${label}</a>`;
    },
    // An image would load from wherever the answer says: shown as a link to it instead.
    image({ href, text }) {
      const safe = safeHref(href);
      const label = escapeHtml(text || href);
      if (safe === undefined) return label;
      return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener noreferrer">${label}</a>`;
    },
    code: ({ text, lang }) => codeBlock(text, lang ?? ''),
  },
});

function codeBlock(code: string, info: string): string {
  const language = (info.split(/\s/, 1)[0] ?? '').replace(/[^\w+#.-]/g, '').slice(0, 32);
  const label = language === '' ? 'code' : language;
  return (
    '<div class="md-code">' +
    `<div class="md-code-bar"><span class="md-code-lang">${escapeHtml(label)}</span>` +
    `<button type="button" class="md-copy" aria-label="Copy ${escapeHtml(label)} code" title="Copy to the clipboard">Copy</button></div>` +
    `<pre tabindex="0"><code${language ? ` class="language-${escapeHtml(language)}"` : ''}>${escapeHtml(code)}</code></pre>` +
    '</div>'
  );
}

/** Markdown to HTML, before sanitizing: what `renderAnswer` hands to DOMPurify. */
export function renderMarkdown(source: string): string {
  return markdown.parse(source, { async: false });
}

/** Everything the renderer writes (and Monaco's colorizer, for code), and nothing else. */
export const ALLOWED_TAGS = [
  'p',
  'br',
  'strong',
  'em',
  'del',
  'code',
  'pre',
  'a',
  'ul',
  'ol',
  'li',
  'input',
  'blockquote',
  'hr',
  'h3',
  'h4',
  'h5',
  'h6',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'div',
  'span',
  'button',
];

const PURIFY: Config = {
  ALLOWED_TAGS,
  ALLOWED_ATTR: [
    'href',
    'target',
    'rel',
    'class',
    'start',
    'tabindex',
    'type',
    'aria-label',
    'title',
    'align',
    'checked',
    'disabled',
  ],
  ALLOW_DATA_ATTR: false,
};

let purifier: typeof DOMPurify | undefined;

/**
 * DOMPurify for this page, with one rule of ours on top: links are absolute http(s) only and open in a new
 * tab without access to this one, whatever the HTML said. In a page without a DOM DOMPurify cannot work and
 * would hand its input back unchanged: refused instead, so nothing unsanitized is ever returned.
 */
function purifierForPage(): typeof DOMPurify {
  if (purifier !== undefined) return purifier;
  if (typeof window === 'undefined' || !DOMPurify.isSupported)
    throw new Error('DOMPurify needs a DOM to sanitize with');
  const instance = DOMPurify(window);
  instance.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName !== 'A') return;
    if (safeHref(node.getAttribute('href') ?? '') === undefined) {
      node.removeAttribute('href');
      return;
    }
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  });
  purifier = instance;
  return instance;
}

/** Keeps only the tags and attributes above, and links as `purifierForPage` says. */
export function sanitizeHtml(html: string): string {
  return purifierForPage().sanitize(html, { ...PURIFY, RETURN_TRUSTED_TYPE: false });
}

/** A model answer as HTML that is safe to assign to innerHTML. */
export function renderAnswer(source: string): string {
  return sanitizeHtml(renderMarkdown(source));
}
