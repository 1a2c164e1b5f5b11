import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALLOWED_TAGS, escapeHtml, renderAnswer, renderMarkdown, safeHref } from './markdown.ts';

/** Every tag the renderer may write; anything else in the output would be the source's HTML getting through. */
const ALLOWED = new Set(ALLOWED_TAGS);

/** marked puts newlines between block tags; the expected HTML below is written without them. */
const render = (source: string) =>
  renderMarkdown(source).replace(/>\n+/g, '>').replace(/\n+</g, '<').trimEnd();

function tagsIn(html: string): string[] {
  return [...html.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase());
}

describe('renderMarkdown (marked, before sanitizing)', () => {
  test('raw HTML in the source is shown as text, never as markup', () => {
    const html = render('Hi <script>alert(1)</script> <img src=x onerror="alert(2)"> & bye');
    assert.equal(
      html,
      '<p>Hi &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=&quot;alert(2)&quot;&gt; &amp; bye</p>',
    );
  });

  test('a javascript: link (or any non-http one) becomes plain text, with no href', () => {
    const html = render(
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
    const html = render('[<b>x</b>](https://e.test/"onmouseover="alert(1))');
    for (const tag of tagsIn(html)) assert.ok(ALLOWED.has(tag), tag);
    assert.doesNotMatch(html, /" onmouseover|"onmouseover="alert/);
  });

  test('fenced code keeps its text exactly (escaped) with the language and a copy button', () => {
    const html = render('Before\n\n```ts\nconst a = 1 < 2 && "x";\n  indented\n```\nAfter');
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
    const html = render('```\n**not bold** [x](https://e.test) <script>\n');
    assert.match(html, /<code>\*\*not bold\*\* \[x\]\(https:\/\/e\.test\) &lt;script&gt;<\/code>/);
    assert.match(render('use `a<b` and `` x ` y ``'), /<code>a&lt;b<\/code> and <code>x ` y<\/code>/);
  });

  test('a hostile language name cannot reach the markup', () => {
    const html = render('```"><script>alert(1)</script>\nx\n```');
    for (const tag of tagsIn(html)) assert.ok(ALLOWED.has(tag), tag);
  });

  test('paragraphs, emphasis, headings, lists and quotes', () => {
    assert.equal(
      render(
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
      render(
        'This is **`sum`**, see [Rust](https://en.wikipedia.org/wiki/Rust_(language)) or [x](javascript:alert(1)).',
      ),
      '<p>This is <strong><code>sum</code></strong>, see <a href="https://en.wikipedia.org/wiki/Rust_(language)" target="_blank" rel="noopener noreferrer">Rust</a> or x.</p>',
    );
  });

  test('private-use characters in the source stay text and cannot smuggle code spans in', () => {
    assert.equal(render('a \uE0000\uE001 `<b>`'), '<p>a \uE0000\uE001 <code>&lt;b&gt;</code></p>');
  });

  test('tables, with their alignment', () => {
    assert.equal(
      render('| a | b |\n|---|:-:|\n| 1 | `x` |'),
      '<table><thead><tr><th>a</th><th align="center">b</th></tr></thead>' +
        '<tbody><tr><td>1</td><td align="center"><code>x</code></td></tr></tbody></table>',
    );
  });

  test('a block of raw HTML is shown as text, line by line', () => {
    assert.equal(
      render('<div onclick="x()">\n<script>alert(1)</script>\n</div>'),
      '<p>&lt;div onclick=&quot;x()&quot;&gt;<br>&lt;script&gt;alert(1)&lt;/script&gt;<br>&lt;/div&gt;</p>',
    );
  });

  test('images become links to them, for http(s) URLs only', () => {
    assert.equal(
      render('![a chart](https://x.test/c.png) ![x](javascript:alert(1))'),
      '<p><a href="https://x.test/c.png" target="_blank" rel="noopener noreferrer">a chart</a> x</p>',
    );
  });

  test('snake_case and 2 * 3 * 4 stay as written', () => {
    assert.equal(render('call my_var_name with 2 * 3 * 4'), '<p>call my_var_name with 2 * 3 * 4</p>');
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
    for (const tag of tagsIn(render(nasty))) assert.ok(ALLOWED.has(tag), tag);
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
      const html = render(source);
      for (const tag of tagsIn(html)) assert.ok(ALLOWED.has(tag), `${tag} from ${JSON.stringify(source)}`);
      assert.doesNotMatch(html, /href="(?!https?:)/, source);
    }
  });

  test('items separated by blank lines keep their paragraphs', () => {
    assert.equal(render('- a\n\n- b'), '<ul><li><p>a</p></li><li><p>b</p></li></ul>');
  });

  test('escapeHtml covers the characters that matter in text and attributes', () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});

describe('renderAnswer', () => {
  test('without a DOM to sanitize with, it refuses rather than return unsanitized HTML', () => {
    assert.throws(() => renderAnswer('<img src=x onerror=alert(1)>'), /DOMPurify needs a DOM/);
  });
});
