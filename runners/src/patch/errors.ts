/*
 * Every refusal of the patch library is one of these, so callers (and the fuzz tests) can
 * tell a bad or stale patch apart from a bug: anything else escaping the library is a bug.
 */

export type PatchErrorCode =
  | 'PATCH_MALFORMED'
  | 'PATCH_CONFLICT'
  | 'PATCH_COMMIT_FAILED'
  | 'PATCH_INVALID_INPUT';

export abstract class PatchError extends Error {
  abstract readonly code: PatchErrorCode;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The patch text itself is wrong; `line` is 1-based in the patch, `file` the path being read. */
export class PatchParseError extends PatchError {
  readonly code = 'PATCH_MALFORMED';

  constructor(
    readonly file: string | null,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file === null ? '' : `${file}: `}line ${line}: ${reason}`);
  }
}

/** A caller handed the library something unusable (an unsafe path to diff, a bad `expected` key). */
export class PatchInputError extends PatchError {
  readonly code = 'PATCH_INVALID_INPUT';
}

export interface Conflict {
  /** Workspace-relative path the conflict is about. */
  path: string;
  /** 0-based hunk index, or null when the whole file is in conflict (missing, exists, stale). */
  hunk: number | null;
  reason: string;
}

/** The patch is well formed but does not fit the workspace as it is: nothing was written. */
export class PatchConflict extends PatchError {
  readonly code = 'PATCH_CONFLICT';

  constructor(readonly conflicts: Conflict[]) {
    const first = conflicts[0];
    const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more)` : '';
    super(
      first
        ? `patch does not apply: ${first.path}${first.hunk === null ? '' : ` hunk ${first.hunk + 1}`}: ${first.reason}${more}`
        : 'patch does not apply',
    );
  }
}

/**
 * A file operation failed while committing. `rolledBack` says whether the workspace was
 * restored; when false, `leftovers` names what could not be put back or cleaned up.
 */
export class PatchCommitError extends PatchError {
  readonly code = 'PATCH_COMMIT_FAILED';

  constructor(
    message: string,
    readonly rolledBack: boolean,
    readonly leftovers: string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
