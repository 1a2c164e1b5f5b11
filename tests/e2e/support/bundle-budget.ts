import { gzipSync } from 'node:zlib';
import type { Page, Response } from 'playwright-core';

export interface LoadedScript {
  url: string;
  bytes: number;
  gzipBytes: number;
}

/** Collects every script the page fetches from now on, with its size and its gzip -9 size. */
export function recordScripts(page: Page): { scripts: LoadedScript[]; settled(): Promise<void> } {
  const scripts: LoadedScript[] = [];
  const pending: Promise<void>[] = [];
  const onResponse = (response: Response) => {
    if (response.request().resourceType() !== 'script') return;
    pending.push(
      response
        .body()
        .then((body) => {
          scripts.push({
            url: response.url(),
            bytes: body.length,
            gzipBytes: gzipSync(body, { level: 9 }).length,
          });
        })
        .catch(() => {}),
    );
  };
  page.on('response', onResponse);
  return {
    scripts,
    async settled() {
      await Promise.all(pending);
    },
  };
}

export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
