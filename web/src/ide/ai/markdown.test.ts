import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeHtml, renderMarkdown, safeHref } from './markdown.ts';

/** Every tag the renderer may write; anything else in the output would be the source's HTML getting through. */
const ALLOWED_TAGS = new Set([
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
  'blockquote',
  'hr',
  'h3',
  'h4',
  'h5',
  'h6',
  'div',
  'span',
  'button',
]);

function tagsIn(html: string): string[] {
  return [...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase());
}

describe('renderMarkdown', () => {
  test('raw HTML in the source is shown as text, never as markup', () => {
    const html = renderMarkdown('Hi <script>alert(1)</script> <img src=x onerror="alert(2)"> & bye');
    assert.equal(
      html,
      '<p>Hi &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; bye</p>',
    );
  });

  test('a javascript: link (or any non-http one) becomes plain text, with no href', () => {
    const html = renderMarkdown(
      '[click](javascript:alert(1)) [data](data:text/html,<b>x</b>) [rel](/etc/passwd) [ok](https://example.com/a?b=1&c=2)',
    );
    assert.doesNotMatch(html, /javascript:|href="data:|href="\/etc/);
    assert.match(html, /click/);
    assert.match(
      html,
      /<a href="https:\/\/example\.com\/a\?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">ok<\/a>/,
    );
    assert.equal(safeHref('JaVaScRiPt:alert(1)'), undefined);
    assert.equal(safeHref('http://x.test/'), 'http://x.test/');
  });

  test('a link label or URL cannot break out of its attribute or tag', () => {
    const html = renderMarkdown('[<b>x</b>](https://e.test/"onmouseover="alert(1))');
    for (const tag of tagsIn(html)) assert.ok(ALLOWED_TAGS.has(tag), tag);
    assert.doesNotMatch(html, /" onmouseover|"onmouseover="alert/);
  });

  test('fenced code keeps its text exactly (escaped) with the language and a copy button', () => {
    const html = renderMarkdown('Before\n\n```ts\nconst a = 1 < 2 && "x";\n  indented\n```\nAfter');
    assert.equal(
      html,
      '<p>Before</p>' +
        '<div class="md-code"><div class="md-code-bar"><span class="md-code-lang">ts</span>' +
        '<button type="button" class="md-copy" aria-label="Copy ts code" title="Copy to the clipboard">Copy</button></div>' +
        '<pre tabindex="0"><code class="language-ts">const a = 1 &lt; 2 &amp;&amp; &quot;x&quot;;\n  indented</code></pre></div>' +
        '<p>After</p>',
    );
  });

  test('nothing inside code is markup, and an unclosed fence (still streaming) runs to the end', () => {
    const html = renderMarkdown('```\n**not bold** [x](https://e.test) <script>\n');
    assert.match(html, /<code>\*\*not bold\*\* \[x\]\(https:\/\/e\.test\) &lt;script&gt;\n<\/code>/);
    assert.match(renderMarkdown('use `a<b` and `` x ` y ``'), /<code>a&lt;b<\/code> and <code>x ` y<\/code>/);
  });

  test('a hostile language name cannot reach the markup', () => {
    const html = renderMarkdown('```"><script>alert(1)</script>\nx\n```');
    for (const tag of tagsIn(html)) assert.ok(ALLOWED_TAGS.has(tag), tag);
  });

  test('paragraphs, emphasis, headings, lists and quotes', () => {
    assert.equal(
      renderMarkdown(
        '# Title\n\nSome **bold**, *italic*, _also_ and ~~gone~~.\nNext line.\n\n- one\n- two `x`\n  - nested\n\n1. first\n2. second\n\n> quoted',
      ),
      '<h3 class="md-heading">Title</h3>' +
        '<p>Some <strong>bold</strong>, <em>italic</em>, <em>also</em> and <del>gone</del>.<br>Next line.</p>' +
        '<ul><li>one</li><li>two <code>x</code><ul><li>nested</li></ul></li></ul>' +
        '<ol><li>first</li><li>second</li></ol>' +
        '<blockquote><p>quoted</p></blockquote>',
    );
  });

  test('emphasis may wrap code, and link URLs may hold parentheses', () => {
    assert.equal(
      renderMarkdown(
        'This is **`sum`**, see [Rust](https://en.wikipedia.org/wiki/Rust_(language)) or [x](javascript:alert(1)).',
      ),
      '<p>This is <strong><code>sum</code></strong>, see <a href="https://en.wikipedia.org/wiki/Rust_(language)" target="_blank" rel="noopener noreferrer">Rust</a> or x.</p>',
    );
  });

  test('placeholder characters in the source cannot smuggle code spans in', () => {
    assert.equal(renderMarkdown('a \uE0000\uE001 `<b>`'), '<p>a \uFFFD0\uFFFD <code>&lt;b&gt;</code></p>');
  });

  test('snake_case and 2 * 3 * 4 stay as written', () => {
    assert.equal(renderMarkdown('call my_var_name with 2 * 3 * 4'), '<p>call my_var_name with 2 * 3 * 4</p>');
  });

  test('no input can make it write a tag of its own choosing', () => {
    const nasty = [
      '<iframe src=x>',
      '**<svg onload=alert(1)>**',
      '- <a href="javascript:x">y</a>',
      '> <style>*{}</style>',
      '[a](https://x.test/<script>)',
      '`</code><script>`',
      '# <h1>x</h1>',
    ].join('\n\n');
    for (const tag of tagsIn(renderMarkdown(nasty))) assert.ok(ALLOWED_TAGS.has(tag), tag);
  });

  test('random mixes of markup characters never produce a tag of their own, and never hang', () => {
    const pieces = [
      '<',
      '>',
      '"',
      "'",
      '&',
      '`',
      '```',
      '*',
      '_',
      '[',
      ']',
      '(',
      ')',
      '\n',
      '\n\n',
      '- ',
      '1. ',
      '> ',
      '# ',
      'javascript:',
      'https://x.test',
      'a',
      ' ',
      'script',
      '~~',
      '  ',
    ];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 300; round += 1) {
      let source = '';
      for (let n = next() % 60; n > 0; n -= 1) source += pieces[next() % pieces.length];
      const html = renderMarkdown(source);
      for (const tag of tagsIn(html))
        assert.ok(ALLOWED_TAGS.has(tag), `${tag} from ${JSON.stringify(source)}`);
      assert.doesNotMatch(html, /href="(?!https?:)/, source);
    }
  });

  test('items separated by blank lines keep their paragraphs', () => {
    assert.equal(renderMarkdown('- a\n\n- b'), '<ul><li><p>a</p></li><li><p>b</p></li></ul>');
  });

  test('escapeHtml covers the characters that matter in text and attributes', () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});
