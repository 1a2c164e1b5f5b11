import type { GitBranches, GitDiffResult, GitStatus } from '@keel/contract/git';
import { createSignal } from 'solid-js';
import { errorMessage } from '../../forms/error-message.ts';
import type { GitApi } from './git-api.ts';

/** A refusal answered as a value (a push the remote did not take), said in git's last words. */
export class GitRefusal extends Error {
  override name = 'GitRefusal';
}

/** The diff a tab shows: one file, staged (HEAD ↔ index) or not (index ↔ working tree). */
export interface OpenDiff {
  path: string;
  staged: boolean;
}

export interface GitStoreOptions {
  api: GitApi;
  workspaceId: string;
  /** After a pull, a switch or a discard: the file tree and tabs read the files again. */
  onFilesChanged: () => void;
}

/** What the Source Control view shows and does, for one workspace. */
export function createGitStore(o: GitStoreOptions) {
  const id = o.workspaceId;
  const [status, setStatus] = createSignal<GitStatus>();
  const [statusError, setStatusError] = createSignal<string>();
  const [branches, setBranches] = createSignal<GitBranches>();
  /** The operation running now, as the view says it ("Pulling…"); one at a time. */
  const [busy, setBusy] = createSignal<string>();
  const [error, setError] = createSignal<string>();
  const [notice, setNotice] = createSignal<string>();
  const [openDiff, setOpenDiff] = createSignal<OpenDiff>();
  const [diff, setDiff] = createSignal<GitDiffResult>();
  const [diffError, setDiffError] = createSignal<string>();
  let statusRequest = 0;

  async function refresh(): Promise<void> {
    const mine = ++statusRequest;
    try {
      const next = await o.api.status(id);
      if (mine !== statusRequest) return;
      setStatus(next);
      setStatusError(undefined);
    } catch (failure) {
      if (mine === statusRequest) setStatusError(errorMessage(failure));
    }
    await refreshDiff();
  }

  async function refreshDiff(): Promise<void> {
    const open = openDiff();
    if (!open) return;
    try {
      const next = await o.api.diff(id, open.path, open.staged);
      if (openDiff() === open) {
        setDiff(next);
        setDiffError(undefined);
      }
    } catch (failure) {
      if (openDiff() === open) setDiffError(errorMessage(failure));
    }
  }

  async function loadBranches(): Promise<void> {
    try {
      setBranches(await o.api.branches(id));
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }

  /** Runs one operation: says it is running, shows its refusal in the view's words, then re-reads status. */
  async function run<T>(
    label: string,
    action: () => Promise<T>,
    opts: { filesChanged?: boolean; done?: (result: T) => string | undefined } = {},
  ): Promise<boolean> {
    if (busy()) return false;
    setBusy(label);
    setError(undefined);
    setNotice(undefined);
    let ok = false;
    try {
      const result = await action();
      const said = opts.done?.(result);
      if (said) setNotice(said);
      ok = true;
    } catch (failure) {
      setError(failure instanceof GitRefusal ? failure.message : errorMessage(failure));
    } finally {
      setBusy(undefined);
      if (opts.filesChanged) o.onFilesChanged();
      await refresh();
    }
    return ok;
  }

  return {
    status,
    statusError,
    branches,
    busy,
    error,
    notice,
    dismiss: () => {
      setError(undefined);
      setNotice(undefined);
    },
    refresh,
    loadBranches,
    openDiff,
    diff,
    diffError,
    showDiff: async (path: string, staged: boolean) => {
      const open = { path, staged };
      setOpenDiff(open);
      setDiff(undefined);
      setDiffError(undefined);
      await refreshDiff();
    },
    closeDiff: () => {
      setOpenDiff(undefined);
      setDiff(undefined);
    },
    stage: (paths: string[]) => run('Staging…', () => o.api.stage(id, paths)),
    unstage: (paths: string[]) => run('Unstaging…', () => o.api.unstage(id, paths)),
    discard: (paths: string[]) => run('Discarding…', () => o.api.discard(id, paths), { filesChanged: true }),
    stageHunk: (path: string, hunk: string) =>
      run('Staging the change…', () => o.api.stageHunk(id, path, hunk)),
    unstageHunk: (path: string, hunk: string) =>
      run('Unstaging the change…', () => o.api.unstageHunk(id, path, hunk)),
    commit: (message: string) =>
      run('Committing…', () => o.api.commit(id, message), {
        done: (r) => `Committed ${r.commit.slice(0, 7)}: ${r.summary}`,
      }),
    createBranch: (name: string) =>
      run(`Creating ${name}…`, () => o.api.createBranch(id, name), {
        filesChanged: true,
        done: () => `Switched to a new branch ${name}`,
      }),
    switchBranch: (name: string) =>
      run(`Switching to ${name}…`, () => o.api.switchBranch(id, name), {
        filesChanged: true,
        done: () => `Switched to ${name}`,
      }),
    fetch: () =>
      run('Fetching…', () => o.api.fetch(id), {
        done: (r) => (r.updated.length ? `Fetched ${r.updated.join(', ')}` : 'Fetched: nothing new'),
      }),
    pull: () =>
      run('Pulling…', () => o.api.pull(id), {
        filesChanged: true,
        done: (r) =>
          r.outcome === 'up_to_date'
            ? 'Already up to date'
            : r.outcome === 'fast_forward'
              ? 'Pulled (fast-forward)'
              : 'Pulled and merged',
      }),
    push: () =>
      run(
        'Pushing…',
        async () => {
          const r = await o.api.push(id);
          // A push the remote did not take is an error to the person, in git's words and ours.
          if (!r.pushed)
            throw new GitRefusal(`Not pushed: ${r.output.trim().split('\n').at(-1) ?? 'the remote refused'}`);
          return r;
        },
        { done: (r) => `Pushed ${r.branch} to ${r.remote}` },
      ),
  };
}

export type GitStore = ReturnType<typeof createGitStore>;
