/**
 * A real TypeScript codebase for the IDE's tests: zod's own `src/` (330+ `.ts` files, shipped in
 * the installed package), made into a bare Git repository in a Git host stand-in at test time, so
 * no other project's code is committed here. A `package.json` and a `tsconfig.json` are added so
 * a language server treats it as one project.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { GitHostStandin } from './git-host-standin.ts';

const GIT_ENV = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Zod fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.com',
  GIT_COMMITTER_NAME: 'Zod fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.com',
};

/** The installed zod package's folder (the one with `src/`). */
export function zodPackageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('zod/package.json'));
}

/**
 * Writes a working tree of zod's sources to a new temporary folder, committed on `main`.
 * The caller removes it.
 */
export function zodWorkingTree(): string {
  const pkg = zodPackageDir();
  const work = mkdtempSync(join(tmpdir(), 'keel-zod-repo-'));
  cpSync(join(pkg, 'src'), join(work, 'src'), { recursive: true });
  const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version as string;
  writeFileSync(
    join(work, 'package.json'),
    `${JSON.stringify({ name: 'zod-fixture', version, private: true, type: 'module' }, null, 2)}\n`,
  );
  writeFileSync(
    join(work, 'tsconfig.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          allowImportingTsExtensions: true,
        },
        include: ['src'],
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(join(work, '.gitignore'), 'node_modules/\ndist/\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: work, env: GIT_ENV, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', `zod ${version} sources`);
  return work;
}

/** Adds `zod.git` (zod's sources on `main`) to a Git host stand-in; answers its clone URL. */
export function seedZodRepo(host: GitHostStandin, name = 'zod.git'): string {
  const work = zodWorkingTree();
  try {
    execFileSync('git', ['clone', '-q', '--bare', work, join(host.root, name)], { env: GIT_ENV });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return host.url(name);
}
