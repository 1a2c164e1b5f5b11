#!/usr/bin/env node
/*
 * Runs the bundled runner (runners/dist, made by runners/bundle.mjs) when it is there and
 * not older than the sources beside it: one module to parse, no TypeScript loader in
 * memory. Otherwise the sources run through tsx's loader, like the Node edge.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../dist/keel-runner.mjs', import.meta.url);
const sources = ['../src/', '../../edge/contract/src/'].map((p) =>
  fileURLToPath(new URL(p, import.meta.url)),
);

/** Newest modification time under `dir` (0 when it is absent, as in an image with only the bundle). */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      latest = Math.max(latest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return latest;
}

const fresh = existsSync(bundle) && statSync(bundle).mtimeMs >= Math.max(...sources.map(newest));
if (fresh && process.env.KEEL_RUNNER_FROM_SOURCE !== 'true') {
  await import(bundle.href);
} else {
  if (existsSync(bundle)) {
    console.error(
      'keel-runner: runners/dist is older than the sources; running the sources (node runners/bundle.mjs rebuilds it)',
    );
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
