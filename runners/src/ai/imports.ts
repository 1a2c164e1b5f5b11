import { posix } from 'node:path';
import { joinWorkspacePath, workspaceDirname } from './workspace-path.ts';

/**
 * Finds the files a source file imports that live in the same workspace. Only relative
 * imports are followed: bare specifiers name packages (node_modules, site-packages), which
 * the model knows better than a truncated copy would tell it. Parsing is by regular
 * expression, on purpose: it must survive files that do not compile yet, and a missed
 * import only costs context, never correctness.
 */

export type FileExists = (path: string) => Promise<boolean>;

const JS_FAMILY = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs', '.vue', '.svelte']);
const RESOLVE_EXTENSIONS = ['.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.mts', '.cts'];
const EXACT_EXTENSIONS = new Set([...JS_FAMILY, '.json']);
// TypeScript's ESM style imports './x.js' for a file that is x.ts on disk.
const TS_SOURCE_FOR: Record<string, string[]> = {
  '.js': ['.ts', '.tsx'],
  '.jsx': ['.tsx'],
  '.mjs': ['.mts'],
  '.cjs': ['.cts'],
};

export async function resolveImports(path: string, content: string, exists: FileExists): Promise<string[]> {
  const ext = posix.extname(path).toLowerCase();
  let found: Array<string | undefined>;
  if (JS_FAMILY.has(ext)) found = await resolveAll(jsSpecifiers(content), (s) => resolveJs(path, s, exists));
  else if (ext === '.py')
    found = (await resolveAll(pythonImports(content), (i) => resolvePython(path, i, exists))).flat();
  else if (ext === '.rs') found = await resolveAll(rustModules(content), (m) => resolveRust(path, m, exists));
  else found = [];
  const unique: string[] = [];
  for (const p of found) if (p !== undefined && p !== path && !unique.includes(p)) unique.push(p);
  return unique;
}

// Sequential on purpose: the order of the answers must not depend on I/O timing.
async function resolveAll<T, R>(items: T[], resolve: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await resolve(item));
  return out;
}

async function firstExisting(
  candidates: Array<string | undefined>,
  exists: FileExists,
): Promise<string | undefined> {
  for (const c of candidates) if (c !== undefined && (await exists(c))) return c;
  return undefined;
}

// ---- JavaScript / TypeScript ----

const STATIC_IMPORT =
  /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[\w$*{}\s,]+?\s+from\s+)?(['"])([^'"\n]+)\1/g;
const CALL_IMPORT = /\b(?:require|import)\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g;

/** Relative specifiers in order of appearance. */
export function jsSpecifiers(content: string): string[] {
  const code = stripJsComments(content);
  const hits: Array<{ at: number; spec: string }> = [];
  for (const re of [STATIC_IMPORT, CALL_IMPORT]) {
    for (const m of code.matchAll(re)) hits.push({ at: m.index, spec: m[2] ?? '' });
  }
  hits.sort((a, b) => a.at - b.at);
  return hits.map((h) => h.spec.replace(/[?#].*$/, '')).filter(isRelative);
}

function isRelative(spec: string): boolean {
  return spec === '.' || spec === '..' || spec.startsWith('./') || spec.startsWith('../');
}

// Block comments, and line comments that start a line: a `//` inside a string (a URL) is left alone.
function stripJsComments(content: string): string {
  return content.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/^\s*\/\/.*$/gm, '');
}

async function resolveJs(importer: string, spec: string, exists: FileExists): Promise<string | undefined> {
  const dir = workspaceDirname(importer);
  const join = (suffix: string) => joinWorkspacePath(dir, spec + suffix);
  const ext = posix.extname(spec).toLowerCase();
  const candidates: Array<string | undefined> = [];
  for (const alt of TS_SOURCE_FOR[ext] ?? [])
    candidates.push(joinWorkspacePath(dir, spec.slice(0, -ext.length) + alt));
  if (EXACT_EXTENSIONS.has(ext)) candidates.unshift(join(''));
  else {
    for (const e of RESOLVE_EXTENSIONS) candidates.push(join(e));
    for (const e of RESOLVE_EXTENSIONS) candidates.push(join(`/index${e}`));
  }
  return firstExisting(candidates, exists);
}

// ---- Python ----

interface PythonImport {
  dots: number;
  module: string;
  names: string[];
}

const FROM_IMPORT = /^[ \t]*from[ \t]+(\.+)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)/gm;

/** Relative `from . import x` / `from .x import y` statements, in order. */
export function pythonImports(content: string): PythonImport[] {
  const out: PythonImport[] = [];
  for (const m of content.matchAll(FROM_IMPORT)) {
    const names = (m[3] ?? '')
      .replace(/[()\\]/g, ' ')
      .split(',')
      .map(
        (n) =>
          n
            .trim()
            .split(/\s+as\s+/)[0]
            ?.trim() ?? '',
      )
      .filter((n) => /^\w+$/.test(n));
    out.push({ dots: (m[1] ?? '.').length, module: m[2] ?? '', names });
  }
  return out;
}

async function resolvePython(
  importer: string,
  imp: PythonImport,
  exists: FileExists,
): Promise<Array<string | undefined>> {
  // One dot is the importer's own package; each further dot climbs one package.
  const base = joinWorkspacePath(workspaceDirname(importer) || '.', `./${'../'.repeat(imp.dots - 1)}x`);
  if (base === undefined) return [];
  const pkg = workspaceDirname(base);
  const prefix = pkg === '' ? '' : `${pkg}/`;
  const modulePath = imp.module.split('.').filter(Boolean).join('/');
  const module = async (p: string) =>
    firstExisting([joinWorkspacePath('', `${p}.py`), joinWorkspacePath('', `${p}/__init__.py`)], exists);

  const found: Array<string | undefined> = [];
  if (modulePath) {
    const target = await module(prefix + modulePath);
    found.push(target);
    // `from .pkg import sub` may name a submodule rather than something defined in pkg/__init__.py.
    if (target?.endsWith('/__init__.py')) {
      for (const n of imp.names) found.push(await module(`${prefix}${modulePath}/${n}`));
    }
  } else {
    let definedInInit = false;
    for (const n of imp.names) {
      const sub = await module(prefix + n);
      found.push(sub);
      if (sub === undefined) definedInInit = true;
    }
    if (definedInInit)
      found.push(await firstExisting([joinWorkspacePath('', `${prefix}__init__.py`)], exists));
  }
  return found;
}

// ---- Rust ----

const MOD_DECL = /^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?mod[ \t]+(\w+)[ \t]*;/gm;

export function rustModules(content: string): string[] {
  return [...content.matchAll(MOD_DECL)].map((m) => m[1] ?? '').filter(Boolean);
}

async function resolveRust(importer: string, mod: string, exists: FileExists): Promise<string | undefined> {
  const dir = workspaceDirname(importer);
  const stem = posix.basename(importer, '.rs');
  // main.rs, lib.rs and mod.rs own their directory; foo.rs owns foo/.
  const owner = ['main', 'lib', 'mod'].includes(stem) ? dir : dir ? `${dir}/${stem}` : stem;
  return firstExisting(
    [joinWorkspacePath(owner, `${mod}.rs`), joinWorkspacePath(owner, `${mod}/mod.rs`)],
    exists,
  );
}
