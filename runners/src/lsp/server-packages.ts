import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { LspLanguage } from '@keel/contract/lsp';

/**
 * Where the language servers Keel ships live: the runner's own node_modules on its host (found
 * with createRequire, as Node would), and /opt/keel/language-servers/node_modules inside the
 * workspace image (scripts/build-workspace-image copies the same packages there). The process
 * driver binds each host package read-only at the image's path, so every driver runs the same
 * command line.
 */
export const SERVERS_DIR = '/opt/keel/language-servers';
export const SERVERS_NODE_MODULES = `${SERVERS_DIR}/node_modules`;

export interface ServerProgram {
  /** The npm package that ships it ('' for a program found on the workspace's PATH). */
  pkg: string;
  /** The script inside the package, run with the workspace's `node`. */
  script: string;
  args: string[];
  /** The name of the wrapper on the image's PATH. */
  command: string;
}

export const SERVER_PROGRAMS: Record<Exclude<LspLanguage, 'go'>, ServerProgram> = {
  typescript: {
    pkg: 'typescript-language-server',
    script: 'lib/cli.mjs',
    args: ['--stdio'],
    command: 'typescript-language-server',
  },
  python: { pkg: 'pyright', script: 'langserver.index.js', args: ['--stdio'], command: 'pyright-langserver' },
  json: {
    pkg: 'vscode-langservers-extracted',
    script: 'bin/vscode-json-language-server',
    args: ['--stdio'],
    command: 'vscode-json-language-server',
  },
  css: {
    pkg: 'vscode-langservers-extracted',
    script: 'bin/vscode-css-language-server',
    args: ['--stdio'],
    command: 'vscode-css-language-server',
  },
  html: {
    pkg: 'vscode-langservers-extracted',
    script: 'bin/vscode-html-language-server',
    args: ['--stdio'],
    command: 'vscode-html-language-server',
  },
};

/** Packages shipped beside the servers: typescript-language-server runs on `typescript`. */
export const SHIPPED_PACKAGES = [
  'typescript-language-server',
  'typescript',
  'pyright',
  'vscode-langservers-extracted',
];

/** The folder of an installed package, as Node resolves it from `from` (a folder). */
export function packageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Where the runner itself resolves packages from. */
export function runnerPackagesFrom(): string {
  const require = createRequire(import.meta.url);
  try {
    return path.dirname(require.resolve('typescript-language-server/package.json'));
  } catch {
    return path.dirname(new URL(import.meta.url).pathname);
  }
}

/**
 * The packages named and everything they depend on, as installed on this host: name → folder.
 * A package's nested node_modules travel inside its folder; hoisted ones are listed by name.
 * Undefined when one of `names` is not installed.
 */
export function packageClosure(names: readonly string[], from: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const first = names[0] ? packageDir(names[0], from) : undefined;
  if (!first) return undefined;
  // The node_modules folder the named packages are installed in.
  const top = path.dirname(first);
  const seen = new Set<string>();
  const queue: Array<[string, string]> = names.map((n) => [n, from]);
  while (queue.length) {
    const [name, start] = queue.shift()!;
    const dir = packageDir(name, start);
    if (!dir) {
      if (names.includes(name)) return undefined;
      continue; // An optional dependency this platform did not install.
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    // Nested packages travel inside their parent's folder; only top-level ones are listed.
    if (!path.relative(top, dir).includes('node_modules')) out.set(name, dir);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies ?? {})) queue.push([dep, dir]);
  }
  return out;
}

let hostClosure: Map<string, string> | undefined | null = null;

/** The shipped packages on this host (cached: the runner's node_modules do not change under it). */
export function hostServerPackages(): Map<string, string> | undefined {
  if (hostClosure === null) hostClosure = packageClosure(SHIPPED_PACKAGES, runnerPackagesFrom());
  return hostClosure;
}
