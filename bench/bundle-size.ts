import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Figure } from './figure.ts';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'web/dist');
const SIGN_IN_BUDGET = 200 * 1024;
/** Code that must never reach the sign-in page: the IDE, the editor and the terminal. */
const LAZY_ONLY = /ide-page|editor\.api|monaco|xterm|\.worker/;

interface Size {
  raw: number;
  gzip: number;
  files: number;
}

/**
 * What the browser downloads: the sign-in page's JavaScript (the script index.html loads and everything
 * it imports statically) against the chunks fetched only when a workspace is opened (the IDE, Monaco,
 * xterm). Gzip at level 9, as the e2e budget check measures it. Builds web/dist when it is missing or
 * older than the sources.
 */
export async function benchBundleSize(): Promise<Figure[]> {
  buildIfStale();
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const entries = [
    ...html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*\brel="modulepreload"[^>]*\bhref)="\/([^"]+\.js)"/g),
  ].map((m) => m[1]!);
  if (entries.length === 0) throw new Error('web/dist/index.html loads no script');
  const signIn = closure(entries, false);
  const all = readdirSync(join(dist, 'assets'))
    .filter((name) => name.endsWith('.js'))
    .map((name) => `assets/${name}`);
  const lazy = all.filter((file) => !signIn.has(file));
  const leaked = [...signIn].filter((file) => LAZY_ONLY.test(file));

  const signInSize = sizeOf([...signIn]);
  const allSize = sizeOf(all);
  const startingWith = (prefix: string) => lazy.filter((f) => f.startsWith(`assets/${prefix}-`));
  const ideFiles = startingWith('ide-page');
  // Monaco: its entry with everything it imports, also lazily (languages), and its workers.
  const monacoFiles = new Set([
    ...closure(startingWith('monaco-environment'), true, signIn),
    ...lazy.filter((f) => /\.worker-/.test(f)),
  ]);
  const otherFiles = lazy.filter((f) => !ideFiles.includes(f) && !monacoFiles.has(f));
  const ide = sizeOf(ideFiles);
  const monaco = sizeOf([...monacoFiles]);
  const otherLazy = sizeOf(otherFiles);

  return [
    {
      name: `sign-in page JS, gzipped (${signInSize.files} file${signInSize.files === 1 ? '' : 's'})`,
      keel: `${kb(signInSize.gzip)} (raw ${kb(signInSize.raw)})`,
      baseline: `${kb(allSize.gzip)} (all ${allSize.files} JS files, raw ${kb(allSize.raw)})`,
      ratio: `${(signInSize.gzip / allSize.gzip).toFixed(3)}×`,
      target: `≤ ${kb(SIGN_IN_BUDGET)}, no IDE/editor code`,
      pass: signInSize.gzip <= SIGN_IN_BUDGET && leaked.length === 0,
    },
    lazyFigure('IDE chunk (ide-page), gzipped, lazy', ide, signInSize),
    lazyFigure(
      `Monaco (editor, languages, workers: ${monaco.files} files), gzipped, lazy`,
      monaco,
      signInSize,
    ),
    lazyFigure(
      `other lazy chunks (xterm and the rest: ${otherLazy.files} files), gzipped`,
      otherLazy,
      signInSize,
    ),
  ];

  function lazyFigure(name: string, size: Size, signInSize: Size): Figure {
    return {
      name,
      keel: `${kb(size.gzip)} (raw ${kb(size.raw)})`,
      baseline: `${kb(signInSize.gzip)} (sign-in JS)`,
      ratio: `${(size.gzip / signInSize.gzip).toFixed(2)}×`,
      target: 'not loaded by sign-in',
      pass: leaked.length === 0,
    };
  }
}

/**
 * The files reachable from `entries` through static imports, and through dynamic `import()` as well when
 * `dynamic` is set, without entering `stopAt` (what is loaded already). What index.html reaches statically is
 * what the sign-in page downloads.
 */
function closure(
  entries: readonly string[],
  dynamic: boolean,
  stopAt: ReadonlySet<string> = new Set(),
): Set<string> {
  const seen = new Set<string>();
  const queue = [...entries];
  // `import{a}from"./x.js"`, `import"./x.js"`, `export*from"./x.js"`; and `import("./x.js")`.
  const statics = /\b(?:import|export)\s*(?:[^'"`();]*?\bfrom\s*)?["'`]\.\/([^"'`]+\.js)["'`]/g;
  const dynamics = /\bimport\(\s*["'`]\.\/([^"'`]+\.js)["'`]\s*\)/g;
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || stopAt.has(file)) continue;
    seen.add(file);
    const code = readFileSync(join(dist, file), 'utf8');
    const dir = file.slice(0, file.lastIndexOf('/') + 1);
    for (const m of code.matchAll(statics)) queue.push(`${dir}${m[1]}`);
    if (dynamic) for (const m of code.matchAll(dynamics)) queue.push(`${dir}${m[1]}`);
  }
  return seen;
}

function sizeOf(files: readonly string[]): Size {
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = readFileSync(join(dist, file));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { raw, gzip, files: files.length };
}

function buildIfStale(): void {
  const built = join(dist, 'index.html');
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
  const sources = [
    'web/src',
    'web/index.html',
    'web/vite.config.ts',
    'web/package.json',
    'edge/contract/src',
  ];
  if (builtAt > 0 && sources.every((source) => newestMtime(join(root, source)) <= builtAt)) return;
  console.error('bench: building web/ for the bundle sizes…');
  execFileSync('npm', ['run', 'build', '-w', 'web'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

const kb = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
