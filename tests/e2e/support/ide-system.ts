/**
 * What the IDE's browser suites start before their first step: a Git host stand-in (optionally
 * serving zod's sources as a repository), the whole system by `scripts/up` with the process
 * driver and local Git allowed (the stand-in serves plain http on loopback; the bubblewrap
 * sandbox, not a Docker engine other suites share), and one Chromium page at a desktop size.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { type GitHostStandin, startGitHostStandin } from '../../harness/git-host-standin.ts';
import { seedZodRepo } from '../../harness/zod-repo.ts';
import { launchChromium, type PageProblems, watchForProblems } from './browser.ts';
import { type KeelInstance, startKeel } from './keel-instance.ts';

const root = new URL('../../..', import.meta.url).pathname;

export interface IdeSystem {
  keel: KeelInstance;
  host: GitHostStandin;
  browser: Browser;
  page: Page;
  problems: PageProblems;
  /** The zod repository's clone URL, when `zod` was asked for. */
  zodUrl: string | undefined;
  stop(): Promise<void>;
}

export async function startIdeSystem(o: {
  /** The token the stand-in accepts (user `x-access-token`). */
  token: string;
  /** Seed the stand-in with zod's sources (tests/harness/zod-repo.ts). */
  zod?: boolean;
  /** Playwright's default wait (20 s unless said). */
  timeoutMs?: number;
}): Promise<IdeSystem> {
  assert.ok(
    existsSync(join(root, 'web/dist/index.html')),
    'build the web app first: npm run build -w @keel/web',
  );
  const host = await startGitHostStandin({ username: 'x-access-token', token: o.token });
  const zodUrl = o.zod ? seedZodRepo(host) : undefined;
  const [keel, browser] = await Promise.all([
    startKeel({ env: { KEEL_RUNNER_ALLOW_LOCAL_GIT: 'true', KEEL_RUNNER_DRIVER: 'process' } }),
    launchChromium(),
  ]);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(o.timeoutMs ?? 20_000);
  if (process.env.KEEL_E2E_DEBUG) {
    page.on('console', (m) => console.log('PAGE', m.type(), m.text().slice(0, 300)));
    page.on('pageerror', (e) => console.log('PAGEERROR', String(e).slice(0, 300)));
  }
  const problems = watchForProblems(page);
  return {
    keel,
    host,
    browser,
    page,
    problems,
    zodUrl,
    async stop() {
      await browser.close();
      await keel.stop();
      await host.close();
    },
  };
}
