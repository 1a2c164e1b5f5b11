/**
 * Prints what the built web app weighs, gzipped, grouped by when it is loaded:
 *   node --import tsx web/scripts/bundle-sizes.ts   (after `npm run build -w @keel/web`)
 * The sign-in page loads only the entry script named in index.html; the IDE chunk loads when a workspace
 * is opened; Monaco and its workers when the editor first shows; xterm when the terminal opens.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const assets = join(dist, 'assets');
const entry = /src="\/assets\/([^"]+\.js)"/.exec(readFileSync(join(dist, 'index.html'), 'utf8'))?.[1];

const groups: Array<[string, (name: string) => boolean]> = [
  ['sign-in page (entry script)', (name) => name === entry],
  [
    'IDE chunk (loaded on opening a workspace)',
    (name) => name.startsWith('ide-page-') && name.endsWith('.js'),
  ],
  ['Monaco editor (main thread)', (name) => /^(editor\.api|monaco-environment)-.*\.js$/.test(name)],
  ['Monaco workers (each loaded on demand)', (name) => /\.worker-.*\.js$/.test(name)],
  ['xterm.js + fit addon (terminal)', (name) => /^(xterm|addon-fit)-.*\.js$/.test(name)],
  ['CSS', (name) => name.endsWith('.css')],
  ['other lazy chunks (language grammars, modes)', () => true],
];

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1).padStart(8)} KB`;
const seen = new Set<string>();
for (const [title, matches] of groups) {
  const files = readdirSync(assets).filter(
    (name) => !seen.has(name) && /\.(js|css)$/.test(name) && matches(name),
  );
  if (files.length === 0) continue;
  let raw = 0;
  let gzip = 0;
  const rows: string[] = [];
  for (const name of files.sort()) {
    seen.add(name);
    const bytes = readFileSync(join(assets, name));
    const gz = gzipSync(bytes, { level: 9 }).length;
    raw += bytes.length;
    gzip += gz;
    if (files.length <= 8) rows.push(`    ${name.padEnd(44)} ${kb(bytes.length)} ${kb(gz)} gz`);
  }
  console.log(`${title}: ${files.length} file(s), ${kb(raw).trim()} raw, ${kb(gzip).trim()} gzipped`);
  for (const row of rows) console.log(row);
}
