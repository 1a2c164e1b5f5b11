/**
 * A small Markdown renderer for model answers, producing HTML that is safe to assign to innerHTML: every
 * piece of the source reaches the output through `escapeHtml`, the only tags are the ones written here,
 * and links keep their href only for http(s) URLs. Raw HTML in the source is shown as text, never parsed.
 * It covers what answers use (fenced code, inline code, paragraphs, lists, headings, quotes, emphasis,
 * links) and tolerates unfinished input, since it re-renders a streaming answer as it grows.
 */

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export function renderMarkdown(source: string): string {
  return renderBlocks(source.replace(/\r\n?/g, '\n').split('\n'));
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])\s+/;

function renderBlocks(lines: readonly string[]): string {
  const html: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i += 1;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1]!;
      const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
      const code: string[] = [];
      i += 1;
      // An unclosed fence runs to the end: the rest of a streaming answer is still on its way.
      while (i < lines.length && !closing.test(lines[i]!)) {
        code.push(lines[i]!);
        i += 1;
      }
      i += 1;
      html.push(codeBlock(code.join('\n'), fence[2] ?? ''));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      // Answers sit under the panel's own headings: their levels start below them.
      const level = Math.min(6, heading[1]!.length + 2);
      html.push(`<h${level} class="md-heading">${renderInline(heading[2]!)}</h${level}>`);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      html.push('<hr>');
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i]!)) {
        quoted.push(lines[i]!.replace(QUOTE, ''));
        i += 1;
      }
      html.push(`<blockquote>${renderBlocks(quoted)}</blockquote>`);
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      const end = listEnd(lines, i, item[1]!.length, isOrdered(item[2]!));
      html.push(renderList(lines.slice(i, end), item[1]!.length));
      i = end;
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && !startsBlock(lines[i]!)) {
      paragraph.push(lines[i]!.trim());
      i += 1;
    }
    html.push(`<p>${renderInline(paragraph.join('\n'))}</p>`);
  }
  return html.join('');
}

function startsBlock(line: string): boolean {
  return (
    FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || LIST_ITEM.test(line)
  );
}

/**
 * Where a list that starts at `start` ends: at a blank line followed by something not in the list, or at
 * an item of the other kind (bullets after numbers start a new list).
 */
function listEnd(lines: readonly string[], start: number, indent: number, ordered: boolean): number {
  let i = start + 1;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      const next = lines[i + 1];
      if (next === undefined || !(isItemAt(next, indent, ordered) || leadingSpaces(next) > indent)) return i;
      i += 1;
      continue;
    }
    if (leadingSpaces(line) <= indent && !isItemAt(line, indent, ordered) && startsBlock(line)) return i;
    // A line at the list's own level that is not an item continues the item's paragraph.
    i += 1;
  }
  return i;
}

function isItemAt(line: string, indent: number, ordered: boolean): boolean {
  const match = LIST_ITEM.exec(line);
  return match !== null && match[1]!.length <= indent && isOrdered(match[2]!) === ordered;
}

function isOrdered(marker: string): boolean {
  return /\d/.test(marker);
}

function leadingSpaces(line: string): number {
  return line.length - line.trimStart().length;
}

function renderList(lines: readonly string[], indent: number): string {
  const first = LIST_ITEM.exec(lines[0]!)!;
  const ordered = isOrdered(first[2]!);
  // Items separated by blank lines are loose (paragraphs); otherwise their first paragraph is bare text.
  const loose = lines.slice(0, -1).some((line) => line.trim() === '');
  const items: string[][] = [];
  for (const line of lines) {
    const match = LIST_ITEM.exec(line);
    if (match && match[1]!.length <= indent) items.push([line.slice(match[0].length)]);
    else
      items[items.length - 1]!.push(
        line.startsWith(' ') ? line.slice(Math.min(leadingSpaces(line), indent + 2)) : line,
      );
  }
  const start = ordered ? Number.parseInt(first[2]!, 10) : 1;
  const open = ordered ? (start === 1 ? '<ol>' : `<ol start="${start}">`) : '<ul>';
  const body = items
    .map((content) => {
      const inner = renderBlocks(content);
      return `<li>${loose ? inner : inner.replace(/^<p>((?:(?!<\/p>)[\s\S])*)<\/p>/, '$1')}</li>`;
    })
    .join('');
  return `${open}${body}${ordered ? '</ol>' : '</ul>'}`;
}

function codeBlock(code: string, info: string): string {
  const language = info.replace(/[^\w+#.-]/g, '').slice(0, 32);
  const label = language === '' ? 'code' : language;
  return (
    '<div class="md-code">' +
    `<div class="md-code-bar"><span class="md-code-lang">${escapeHtml(label)}</span>` +
    `<button type="button" class="md-copy" aria-label="Copy ${escapeHtml(label)} code" title="Copy to the clipboard">Copy</button></div>` +
    `<pre tabindex="0"><code${language ? ` class="language-${escapeHtml(language)}"` : ''}>${escapeHtml(code)}</code></pre>` +
    '</div>'
  );
}

/**
 * Inline spans. Code spans are cut out first (nothing inside them is markup) and stand in the text as
 * placeholders while links and emphasis are found, so `**\`name\`**` is bold code; then they are put back.
 */
export function renderInline(text: string): string {
  const codes: string[] = [];
  // The placeholder characters are private-use ones; any in the source are replaced so none can be forged.
  let rest = text.replace(/[\uE000\uE001]/g, '\uFFFD');
  let withPlaceholders = '';
  for (;;) {
    const open = /`+/.exec(rest);
    if (open === null) break;
    const after = rest.slice(open.index + open[0].length);
    const close = new RegExp(`(?<!\`)${open[0]}(?!\`)`).exec(after);
    if (close === null) break;
    withPlaceholders += `${rest.slice(0, open.index)}\uE000${codes.length}\uE001`;
    codes.push(`<code>${escapeHtml(after.slice(0, close.index).replace(/^ (.+) $/, '$1'))}</code>`);
    rest = after.slice(close.index + open[0].length);
  }
  return renderLinks(withPlaceholders + rest).replace(
    /\uE000(\d+)\uE001/g,
    (_, index) => codes[Number(index)] ?? '',
  );
}

/** `[label](url)`, the URL allowed one level of parentheses (as in Wikipedia links). */
const LINK = /\[([^\]\n]+)\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))*)>?(?:\s+"[^"\n]*")?\s*\)/;

function renderLinks(text: string): string {
  let html = '';
  let rest = text;
  for (let match = LINK.exec(rest); match !== null; match = LINK.exec(rest)) {
    html += emphasis(escapeHtml(rest.slice(0, match.index)));
    const label = emphasis(escapeHtml(match[1]!));
    // A URL holding a code placeholder was never a URL.
    const href = match[2]!.includes('\uE000') ? undefined : safeHref(match[2]!);
    html +=
      href === undefined
        ? label
        : `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${label}</a>`;
    rest = rest.slice(match.index + match[0].length);
  }
  return html + emphasis(escapeHtml(rest));
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

/** Runs on escaped text: the markers are plain characters there, and the tags added are fixed. */
function emphasis(html: string): string {
  return html
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, '$1<strong>$2</strong>')
    .replace(/\*(?=[^\s*])([^*]*?[^\s*])\*/g, '<em>$1</em>')
    .replace(/\*(?=[^\s*])([^*\s])\*/g, '<em>$1</em>')
    .replace(/(^|[^\w])_(?=[^\s_])([^_]*?[^\s_])_(?!\w)/g, '$1<em>$2</em>')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<del>$1</del>')
    .replace(/\n/g, '<br>');
}
