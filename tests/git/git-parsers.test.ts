import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isBranchName } from '@keel/contract/git';
import { hunkPatch, parseFileDiff } from '../../runners/src/git/hunks.ts';
import { parseStatus } from '../../runners/src/git/status.ts';

const ENV = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'T',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 'T',
  GIT_COMMITTER_EMAIL: 't@example.com',
};

test('branch names: ours refuses whatever `git check-ref-format --branch` refuses (and names starting with -)', () => {
  const names = [
    'main',
    'feature/x',
    'a.b',
    'v1.2.3',
    'x-y_z',
    'ünïcode',
    'a..b',
    '.hidden',
    'a/.b',
    'x.lock',
    'a/b.lock/c',
    'end/',
    'end.',
    'a b',
    'a~1',
    'a^',
    'a:b',
    'a?',
    'a*',
    'a[b',
    'a\\b',
    'a@{1}',
    '@',
    'a//b',
    '/a',
    'tab\there',
    'HEAD',
    'x@y',
  ];
  for (const name of names) {
    const git = spawnSync('git', ['check-ref-format', '--branch', name], { env: ENV }).status === 0;
    if (isBranchName(name)) assert.ok(git, `${JSON.stringify(name)} is taken by us but refused by git`);
  }
  assert.equal(isBranchName('-f'), false);
  assert.equal(isBranchName('feature/x'), true);
});

test('porcelain v2 status from real git: renames, staged and unstaged letters, untracked, names with spaces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-git-parsers-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: ENV });
  try {
    git('init', '-q', '-b', 'main');
    writeFileSync(join(dir, 'old name.txt'), 'one\ntwo\nthree\nfour\n');
    writeFileSync(join(dir, 'both.txt'), 'a\n');
    git('add', '-A');
    git('commit', '-qm', 'first');
    git('mv', 'old name.txt', 'new name.txt');
    writeFileSync(join(dir, 'both.txt'), 'b\n');
    git('add', 'both.txt');
    writeFileSync(join(dir, 'both.txt'), 'c\n');
    writeFileSync(join(dir, 'fresh file.txt'), 'x\n');
    const st = parseStatus(git('status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all'));
    assert.equal(st.branch, 'main');
    assert.equal(st.upstream, null);
    assert.match(st.head ?? '', /^[0-9a-f]{40}$/);
    const by = Object.fromEntries(st.files.map((f) => [f.path, f]));
    assert.equal(by['new name.txt']?.index, 'R');
    assert.equal(by['new name.txt']?.origPath, 'old name.txt');
    assert.equal(`${by['both.txt']?.index}${by['both.txt']?.worktree}`, 'MM');
    assert.equal(by['fresh file.txt']?.kind, 'untracked');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one hunk of a diff is a patch git applies to the index alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-git-parsers-'));
  const git = (args: string[], input?: string) => execFileSync('git', args, { cwd: dir, env: ENV, input });
  try {
    git(['init', '-q', '-b', 'main']);
    const lines = Array.from({ length: 20 }, (_, i) => `l${i}`);
    writeFileSync(join(dir, 'f.txt'), `${lines.join('\n')}\n`);
    git(['add', '-A']);
    git(['commit', '-qm', 'first']);
    lines[1] = 'changed 1';
    lines[18] = 'changed 18';
    writeFileSync(join(dir, 'f.txt'), `${lines.join('\n')}\n`);
    const parsed = parseFileDiff(
      git(['diff', '--src-prefix=a/', '--dst-prefix=b/', '--', 'f.txt']).toString(),
    );
    assert.equal(parsed.hunks.length, 2);
    assert.match(parsed.header, /^diff --git a\/f.txt b\/f.txt/);
    assert.equal(hunkPatch(parsed, 'f'.repeat(64)), undefined);
    git(['apply', '--cached', '-'], hunkPatch(parsed, parsed.hunks[1]!.id));
    const staged = git(['diff', '--cached']).toString();
    assert.match(staged, /\+changed 18/);
    assert.doesNotMatch(staged, /changed 1\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
