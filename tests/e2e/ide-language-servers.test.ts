/**
 * The editor knows the code, in a real Chromium against the whole system started by `scripts/up`
 * (process driver, local Git allowed): a workspace cloned from zod's own sources (a Git host
 * stand-in serving tests/harness/zod-repo.ts's repository) opens a .ts file; the status bar says
 * the workspace's TypeScript language server is ready; hovering a name imported from another file
 * shows its type from that file (once: Monaco's own TypeScript worker says nothing beside it),
 * completion lists another file's exports, and F12 opens the file that defines it in a tab at its line.
 *
 * Build first: `npm run build -w @keel/web && node runners/bundle.mjs`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Page } from 'playwright-core';
import type { GitHostStandin } from '../harness/git-host-standin.ts';
import { zodPackageDir } from '../harness/zod-repo.ts';
import { scenarioSteps, screenshot } from './support/browser.ts';
import { type IdeSystem, startIdeSystem } from './support/ide-system.ts';
import type { KeelInstance } from './support/keel-instance.ts';

const PASSWORD = 'correct horse battery staple';
const TOKEN = 'ghp_e2eLspToken0123456789ab';

let keel: KeelInstance;
let host: GitHostStandin;
let zodUrl: string;
let page: Page;

const step = scenarioSteps(
  'ide-language-servers',
  () => ({ page }),
  () => console.log(keel?.output()),
);

describe('language servers in the IDE, end to end', { timeout: 300_000 }, () => {
  let system: IdeSystem | undefined;
  before(async () => {
    system = await startIdeSystem({ token: TOKEN, zod: true, timeoutMs: 30_000 });
    ({ keel, host, page } = system);
    zodUrl = system.zodUrl!;
  });

  after(async () => {
    await system?.stop();
  });

  step('a workspace cloned from zod’s sources opens in the IDE', async () => {
    await page.goto(`${keel.base}/sign-up`);
    await page.getByLabel('Your name').fill('Ada Types');
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    // The stand-in asks every clone for the token: kept in Settings › Integrations.
    await page.goto(`${keel.base}/settings/integrations`);
    await page.getByRole('textbox', { name: 'Host' }).fill(host.host);
    await page.getByLabel('Token', { exact: true }).fill(TOKEN);
    await page.getByRole('button', { name: 'Save token' }).click();
    await page.getByRole('row', { name: new RegExp(host.host.replace(/\./g, '\\.')) }).waitFor();

    await page.goto(keel.base);
    await page.getByRole('button', { name: 'New workspace' }).click();
    const dialog = page.getByRole('dialog', { name: 'New workspace' });
    await dialog.getByLabel('Name').fill('zod');
    await dialog.getByText('A Git repository').click();
    await dialog.getByLabel('Repository URL').fill(zodUrl);
    await dialog.getByRole('button', { name: 'Create workspace' }).click();
    await page
      .getByRole('listitem', { name: 'zod' })
      .getByText('Running', { exact: true })
      .waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Open zod' }).click();
    await page.getByRole('heading', { name: 'zod', level: 1 }).waitFor();
    for (const folder of ['src', 'v4', 'classic'])
      await page.getByRole('treeitem', { name: folder, exact: true }).click();
    await page.getByRole('treeitem', { name: 'coerce.ts', exact: true }).click();
    await page.locator('.status-bar-lsp', { hasText: 'Language server ready' }).waitFor({ timeout: 120_000 });
  });

  step('hover shows the type of a name from another file', async () => {
    const name = page.locator('.view-lines span', { hasText: /^ZodString$/ }).first();
    const hover = page.locator('.monaco-hover-content');
    // The server loads the whole project (330+ files) first: until then a hover may say less.
    let text = '';
    const deadline = Date.now() + 120_000;
    while (!/\$constructor|interface ZodString/.test(text)) {
      assert.ok(Date.now() < deadline, `the hover never showed ZodString's type from schemas.ts: ${text}`);
      await page.mouse.move(5, 5);
      await name.hover();
      await hover
        .first()
        .waitFor({ timeout: 10_000 })
        .catch(() => {});
      await page.waitForTimeout(500);
      text = (await hover.allTextContents()).join('\n');
    }
    // The server's hover, once, and nothing from Monaco's own TypeScript worker (which, seeing only
    // the open file, would add an "any" line beside it).
    for (const part of [/\$constructor</g, /interface (schemas\.)?ZodString\b/g])
      assert.ok((text.match(part) ?? []).length <= 1, `the server's hover twice: ${text}`);
    assert.doesNotMatch(text, /(^|\n)\s*any\s*($|\n)|: any\b|\bimport ZodString\b/, text);
    await screenshot(page, 'ide-language-servers-hover');
  });

  step('completion lists the members of a module from another file', async () => {
    await page
      .locator('.view-lines span', { hasText: /^ZodString$/ })
      .first()
      .click();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('schemas.ZodStringF', { delay: 20 });
    const suggestions = page.locator('.suggest-widget .monaco-list-row');
    await suggestions.filter({ hasText: 'ZodStringFormat' }).first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'ide-language-servers-completion');
    await page.keyboard.press('Escape');
    // Take the typing back out, so the file is as it was.
    for (let i = 0; i < 4; i++) await page.keyboard.press('Control+Z');
    await page.locator('.view-lines', { hasText: 'schemas.ZodStringF' }).waitFor({ state: 'detached' });
  });

  step('F12 opens the file that defines it in a tab, at the definition', async () => {
    await page
      .locator('.view-lines span', { hasText: /^ZodString$/ })
      .first()
      .click();
    await page.keyboard.press('F12');
    await page
      .getByRole('navigation', { name: 'Open files' })
      .getByRole('button', { name: 'src/v4/classic/schemas.ts', exact: true })
      .waitFor({ timeout: 60_000 });
    // The editor's (hidden) text input is named for the file it shows.
    await page
      .locator('.code-editor-surface [aria-label*="src/v4/classic/schemas.ts"]')
      .first()
      .waitFor({ state: 'attached' });
    // The cursor is on a line that declares ZodString in schemas.ts (the interface or the constant).
    const declared = readFileSync(join(zodPackageDir(), 'src/v4/classic/schemas.ts'), 'utf8')
      .split('\n')
      .flatMap((line, i) => (/^export (interface|const) ZodString\b/.test(line) ? [String(i + 1)] : []));
    const activeLine = page.locator('.code-editor-surface .line-numbers.active-line-number');
    await page
      .waitForFunction(
        (lines) =>
          lines.includes(
            document
              .querySelector('.code-editor-surface .line-numbers.active-line-number')
              ?.textContent?.trim() ?? '',
          ),
        declared,
        { timeout: 10_000 },
      )
      .catch(() => {});
    const line = (await activeLine.first().textContent())?.trim() ?? '';
    assert.ok(declared.includes(line), `the cursor is on line ${line}, not on ${declared.join(' or ')}`);
    // (Monaco draws spaces as no-break spaces, which \s matches.)
    await page.locator('.view-lines', { hasText: /export\s(interface|const)\sZodString\b/ }).waitFor();
    await screenshot(page, 'ide-language-servers-definition');
  });
});
