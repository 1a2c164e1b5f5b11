import { gzipSync } from 'node:zlib';
import type { Page, Request, Response } from 'playwright-core';

export interface LoadedScript {
  url: string;
  bytes: number;
  gzipBytes: number;
}

/**
 * Collects every script the page fetches from now on, with its size and its gzip -9 size.
 * A script that failed to load, answered with an error status or whose body cannot be read
 * makes `settled()` throw: left out, it would make the page look lighter than it is.
 */
export function recordScripts(page: Page): { scripts: LoadedScript[]; settled(): Promise<void> } {
  const scripts: LoadedScript[] = [];
  const unreadable: string[] = [];
  const pending: Promise<void>[] = [];
  const onResponse = (response: Response) => {
    if (response.request().resourceType() !== 'script') return;
    if (!response.ok()) {
      unreadable.push(`${response.url()}: HTTP ${response.status()}`);
      return;
    }
    pending.push(
      response.body().then(
        (body) => {
          scripts.push({
            url: response.url(),
            bytes: body.length,
            gzipBytes: gzipSync(body, { level: 9 }).length,
          });
        },
        (err: unknown) => {
          unreadable.push(`${response.url()}: ${String(err)}`);
        },
      ),
    );
  };
  const onFailed = (request: Request) => {
    if (request.resourceType() !== 'script') return;
    unreadable.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`);
  };
  page.on('response', onResponse);
  page.on('requestfailed', onFailed);
  return {
    scripts,
    async settled() {
      await Promise.all(pending);
      if (unreadable.length > 0) {
        throw new Error(`scripts the budget cannot count:\n${unreadable.join('\n')}`);
      }
    },
  };
}

export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
