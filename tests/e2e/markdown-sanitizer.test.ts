/**
 * The AI answer's HTML in a real Chromium: marked's output, then DOMPurify, assigned to innerHTML the way
 * the answer view does it. What model output says must never run (a script tag, an onerror image, a
 * javascript: link), whichever step it gets past; the page records any script that does run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './support/browser.ts';

const root = new URL('../..', import.meta.url).pathname;

/** What the hostile inputs try to run: each sets a flag the test then looks for. */
const HOSTILE = [
  '<script>window.ran.push("script")</script>',
  '<img src=x onerror="window.ran.push(\'img\')">',
  '[click me](javascript:window.ran.push("link"))',
  '<a href="javascript:window.ran.push(\'raw-link\')">raw link</a>',
  '**<svg onload="window.ran.push(\'svg\')">**',
  '| a |\n|---|\n| <img src=x onerror="window.ran.push(\'cell\')"> |',
  '```"><img src=x onerror="window.ran.push(\'lang\')">\nx\n```',
  '<iframe srcdoc="<script>parent.ran.push(\'iframe\')</script>"></iframe>',
  '[x](https://e.test/"onmouseover="window.ran.push(\'attr\'))',
  '<details open ontoggle="window.ran.push(\'details\')">',
];

describe('AI answer HTML in Chromium (marked + DOMPurify)', () => {
  let browser: Browser;
  let page: Page;

  before(async () => {
    const bundle = await build({
      entryPoints: [`${root}web/src/ide/ai/markdown.ts`],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'answers',
      platform: 'browser',
    });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setContent('<!doctype html><div id="out"></div>');
    await page.evaluate('window.ran = []');
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  });

  after(async () => {
    await browser?.close();
  });

  /** Puts `html` into the page as the answer view does, gives handlers a moment, and says what ran. */
  async function show(html: string): Promise<{ ran: string[]; attributes: string[]; hrefs: string[][] }> {
    return page.evaluate(async (html) => {
      const out = document.getElementById('out')!;
      out.innerHTML = html;
      // A link that is not http(s) would run or load something: followed, so anything it runs is seen.
      for (const element of out.querySelectorAll('a')) {
        if (!/^https?:\/\//.test(element.getAttribute('href') ?? '')) element.click();
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
      const all = [...out.querySelectorAll('*')];
      return {
        ran: [...(window as unknown as { ran: string[] }).ran],
        attributes: all.flatMap((element) => element.getAttributeNames().filter((name) => /^on/i.test(name))),
        hrefs: [...out.querySelectorAll('a')].map((a) => [
          a.getAttribute('href') ?? '',
          a.getAttribute('target') ?? '',
          a.getAttribute('rel') ?? '',
        ]),
      };
    }, html);
  }

  test('hostile model output rendered as an answer runs nothing, and links keep target and rel', async () => {
    for (const source of HOSTILE) {
      const html = await page.evaluate(
        (source) =>
          (window as unknown as { answers: { renderAnswer(s: string): string } }).answers.renderAnswer(
            source,
          ),
        source,
      );
      const seen = await show(html);
      assert.deepEqual(seen.ran, [], source);
      assert.deepEqual(seen.attributes, [], source);
      for (const [href, target, rel] of seen.hrefs) {
        assert.match(href!, /^https?:\/\//, source);
        assert.equal(target, '_blank', source);
        assert.equal(rel, 'noopener noreferrer', source);
      }
    }
  });

  test('the sanitizer alone stops raw HTML, should it ever get past the renderer', async () => {
    const raw = [
      '<script>window.ran.push("script")</script><p>kept</p>',
      '<img src=x onerror="window.ran.push(\'img\')">',
      '<a href="javascript:window.ran.push(\'link\')">x</a>',
      '<a href="data:text/html,<script>alert(1)</script>">x</a>',
      '<svg><animate onbegin="window.ran.push(\'svg\')" attributeName="x" dur="1s"></animate></svg>',
      '<form action="javascript:window.ran.push(\'form\')"><button>go</button></form>',
      '<math><mtext><table><mglyph><style><img src=x onerror="window.ran.push(\'mxss\')">',
    ];
    for (const html of raw) {
      const clean = await page.evaluate(
        (html) =>
          (window as unknown as { answers: { sanitizeHtml(s: string): string } }).answers.sanitizeHtml(html),
        html,
      );
      assert.doesNotMatch(clean, /<(script|img|svg|form|style|math)\b|javascript:|data:|\son\w+=/i, html);
      const seen = await show(clean);
      assert.deepEqual(seen.ran, [], html);
      assert.deepEqual(seen.attributes, [], html);
    }
    const kept = await page.evaluate(() =>
      (window as unknown as { answers: { sanitizeHtml(s: string): string } }).answers.sanitizeHtml(
        '<script>x</script><p>kept</p>',
      ),
    );
    assert.equal(kept, '<p>kept</p>');
    // Only absolute http(s) links keep their href, and every one opens apart from this page.
    const links = await page.evaluate(() =>
      (window as unknown as { answers: { sanitizeHtml(s: string): string } }).answers.sanitizeHtml(
        '<a href="/api/auth/sign-out">in-app</a><a href="https://e.test/" target="_self">out</a>',
      ),
    );
    assert.equal(
      links,
      '<a>in-app</a><a href="https://e.test/" target="_blank" rel="noopener noreferrer">out</a>',
    );
  });
});
