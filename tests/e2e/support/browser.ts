import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';

const root = new URL('../../..', import.meta.url).pathname;
export const ARTIFACTS = join(root, 'tests/e2e/artifacts');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.KEEL_E2E_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-gpu',
    ],
  });
}

/** Saves a full-window screenshot under tests/e2e/artifacts (kept out of git), overwritten on every run. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

export interface PageProblems {
  /** Console messages about the Content Security Policy refusing something. */
  cspViolations: string[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
}

/** Records, for the whole life of the page, what should never happen: CSP refusals and uncaught errors. */
export function watchForProblems(page: Page): PageProblems {
  const problems: PageProblems = { cspViolations: [], pageErrors: [] };
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to (load|execute|apply|create|connect)/i.test(text))
      problems.cspViolations.push(text);
  });
  page.on('pageerror', (error) => problems.pageErrors.push(String(error.stack ?? error)));
  return problems;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

const axeSource = readFileSync(join(root, 'node_modules/axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core in the page and returns its serious and critical findings. The script is evaluated through
 * the DevTools protocol, which the page's CSP does not govern, so the check runs under the real policy.
 */
export async function seriousAccessibilityViolations(
  page: Page,
  exclude: string[] = [],
): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async (excluded) => {
    const axe = (
      globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<any> } }
    ).axe;
    const result = await axe.run(
      { include: [document], exclude: excluded.map((selector: string) => [selector]) },
      { resultTypes: ['violations'] },
    );
    return result.violations as AxeViolation[];
  }, exclude);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `  ${n.target.join(' ')} ${n.failureSummary ?? ''}`).join('\n')}`,
    )
    .join('\n');
}

/** Fails with axe's own words when a page has serious or critical accessibility problems. */
export async function expectAccessible(page: Page, name: string, exclude: string[] = []): Promise<void> {
  const violations = await seriousAccessibilityViolations(page, exclude);
  if (violations.length > 0)
    throw new Error(`${name}: serious accessibility problems\n${describeViolations(violations)}`);
}

/**
 * `test` for a scenario's steps: when one fails, each page named by `pages` is saved as
 * `failed-<scenario>-<step>[-<page>].png` (the first page without a suffix), and `onFailure`
 * may add what else explains it (a process's output).
 */
export function scenarioSteps(
  scenario: string,
  pages: () => Record<string, Page | undefined>,
  onFailure?: () => void,
): (name: string, body: () => Promise<void>) => void {
  return (name, body) =>
    test(name, async () => {
      try {
        await body();
      } catch (error) {
        const shot = `failed-${scenario}-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`;
        for (const [i, [label, page]] of Object.entries(pages()).entries())
          if (page) await screenshot(page, i === 0 ? shot : `${shot}-${label}`).catch(() => {});
        onFailure?.();
        throw error;
      }
    });
}
