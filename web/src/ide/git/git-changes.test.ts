import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeCount, groupChanges, syncLabel } from './git-changes.ts';

const status = {
  branch: 'main',
  head: 'a'.repeat(40),
  upstream: 'origin/main',
  ahead: 1,
  behind: 2,
  truncated: false,
  files: [
    { path: 'both.ts', index: 'M', worktree: 'M', kind: 'changed' as const },
    { path: 'staged.ts', index: 'A', worktree: '.', kind: 'changed' as const },
    { path: 'new.ts', index: '?', worktree: '?', kind: 'untracked' as const },
    { path: 'x.ts', index: 'U', worktree: 'U', kind: 'conflicted' as const },
    { path: 'to.ts', origPath: 'from.ts', index: 'R', worktree: '.', kind: 'changed' as const },
  ],
};

test('a file changed in the index and the working tree is in both groups, with its letters', () => {
  const groups = groupChanges(status);
  assert.deepEqual(
    groups.staged.map((r) => `${r.letter} ${r.path}`),
    ['M both.ts', 'A staged.ts', 'R to.ts'],
  );
  assert.equal(groups.staged[2]!.origPath, 'from.ts');
  assert.deepEqual(
    groups.unstaged.map((r) => `${r.letter} ${r.path}`),
    ['M both.ts'],
  );
  assert.deepEqual(
    groups.untracked.map((r) => r.path),
    ['new.ts'],
  );
  assert.deepEqual(
    groups.conflicted.map((r) => r.path),
    ['x.ts'],
  );
  assert.equal(changeCount(status), 5);
  assert.equal(changeCount(undefined), 0);
});

test('ahead and behind are said against the upstream', () => {
  assert.equal(syncLabel(status), '1 to push, 2 to pull (origin/main)');
  assert.equal(syncLabel({ ...status, ahead: 0, behind: 0 }), 'Up to date with origin/main');
  assert.equal(syncLabel({ ...status, upstream: null }), 'No upstream branch');
});
