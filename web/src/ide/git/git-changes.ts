import type { GitFileChange, GitStatus } from '@keel/contract/git';

/** One row of the Source Control view: a file in one of its groups. */
export interface ChangeRow {
  path: string;
  origPath?: string;
  /** The letter shown (M, A, D, R, C, T, U, ?). */
  letter: string;
  group: ChangeGroup;
}

export type ChangeGroup = 'conflicted' | 'staged' | 'unstaged' | 'untracked';

export const GROUP_TITLES: Record<ChangeGroup, string> = {
  conflicted: 'Merge conflicts',
  staged: 'Staged changes',
  unstaged: 'Changes',
  untracked: 'Untracked',
};

export const LETTER_NAMES: Record<string, string> = {
  M: 'modified',
  A: 'added',
  D: 'deleted',
  R: 'renamed',
  C: 'copied',
  T: 'type changed',
  U: 'conflicted',
  '?': 'untracked',
};

/**
 * Porcelain v2's two letters as the groups VS Code shows: the index letter makes a staged row, the
 * working tree's an unstaged one (a file may be in both), `?` untracked, `u` entries conflicted.
 */
export function groupChanges(status: GitStatus | undefined): Record<ChangeGroup, ChangeRow[]> {
  const groups: Record<ChangeGroup, ChangeRow[]> = {
    conflicted: [],
    staged: [],
    unstaged: [],
    untracked: [],
  };
  for (const f of status?.files ?? []) {
    const base = (change: GitFileChange) => ({
      path: change.path,
      ...(change.origPath ? { origPath: change.origPath } : {}),
    });
    if (f.kind === 'conflicted') groups.conflicted.push({ ...base(f), letter: 'U', group: 'conflicted' });
    else if (f.kind === 'untracked') groups.untracked.push({ ...base(f), letter: '?', group: 'untracked' });
    else {
      if (f.index !== '.') groups.staged.push({ ...base(f), letter: f.index, group: 'staged' });
      if (f.worktree !== '.') groups.unstaged.push({ ...base(f), letter: f.worktree, group: 'unstaged' });
    }
  }
  return groups;
}

/** How many files have changes, for the badge on the Source Control button. */
export function changeCount(status: GitStatus | undefined): number {
  return status?.files.length ?? 0;
}

/** Ahead and behind, as the status line says them. */
export function syncLabel(status: GitStatus | undefined): string {
  if (!status?.upstream) return status?.branch ? 'No upstream branch' : '';
  const parts: string[] = [];
  if (status.ahead) parts.push(`${status.ahead} to push`);
  if (status.behind) parts.push(`${status.behind} to pull`);
  return parts.length ? `${parts.join(', ')} (${status.upstream})` : `Up to date with ${status.upstream}`;
}
