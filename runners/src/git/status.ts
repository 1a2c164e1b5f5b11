import type { GitFileChange, GitStatus } from '@keel/contract/git';

/** Changes listed at most: a workspace with a huge untracked tree still answers quickly. */
export const MAX_STATUS_FILES = 5000;

/**
 * Reads `git status --porcelain=v2 -z --branch`: `# branch.*` headers, `1`/`2` changed entries
 * (`2` carries the rename's source as the next NUL field), `u` unmerged, `?` untracked.
 */
export function parseStatus(out: Buffer): GitStatus {
  const fields = out.toString('utf8').split('\0');
  const status: GitStatus = {
    branch: null,
    head: null,
    upstream: null,
    ahead: 0,
    behind: 0,
    files: [],
    truncated: false,
  };
  const add = (f: GitFileChange) => {
    if (status.files.length >= MAX_STATUS_FILES) status.truncated = true;
    else status.files.push(f);
  };
  for (let i = 0; i < fields.length; i++) {
    const line = fields[i]!;
    if (!line) continue;
    if (line.startsWith('# ')) {
      const [key, ...rest] = line.slice(2).split(' ');
      const value = rest.join(' ');
      if (key === 'branch.oid') status.head = value === '(initial)' ? null : value;
      else if (key === 'branch.head') status.branch = value === '(detached)' ? null : value;
      else if (key === 'branch.upstream') status.upstream = value;
      else if (key === 'branch.ab') {
        const m = /^\+(\d+) -(\d+)$/.exec(value);
        if (m) {
          status.ahead = Number(m[1]);
          status.behind = Number(m[2]);
        }
      }
      continue;
    }
    const kind = line[0];
    if (kind === '1') {
      // 1 XY sub mH mI mW hH hI path
      const parts = line.split(' ');
      add({ path: parts.slice(8).join(' '), index: parts[1]![0]!, worktree: parts[1]![1]!, kind: 'changed' });
    } else if (kind === '2') {
      // 2 XY sub mH mI mW hH hI Xscore path, then origPath as the next field
      const parts = line.split(' ');
      const origPath = fields[++i] ?? '';
      add({
        path: parts.slice(9).join(' '),
        origPath,
        index: parts[1]![0]!,
        worktree: parts[1]![1]!,
        kind: 'changed',
      });
    } else if (kind === 'u') {
      // u XY sub m1 m2 m3 mW h1 h2 h3 path
      const parts = line.split(' ');
      add({
        path: parts.slice(10).join(' '),
        index: parts[1]![0]!,
        worktree: parts[1]![1]!,
        kind: 'conflicted',
      });
    } else if (kind === '?') {
      add({ path: line.slice(2), index: '?', worktree: '?', kind: 'untracked' });
    }
  }
  return status;
}
