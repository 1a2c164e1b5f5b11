import { type FileErrorCode, fileErrorStatus } from '@keel/contract/runner-errors';

export type ConfinedFsErrorCode = FileErrorCode;

/** Every refusal of the confined file layer; `httpStatus` is what the API should answer. */
export class ConfinedFsError extends Error {
  readonly httpStatus: number;

  constructor(
    readonly code: ConfinedFsErrorCode,
    /** The workspace-relative path as the caller gave it (never a host path). */
    readonly path: string,
    message?: string,
  ) {
    super(message ?? `${code.toLowerCase().replaceAll('_', ' ')}: ${path}`);
    this.name = new.target.name;
    this.httpStatus = fileErrorStatus(code);
  }
}

export class PathOutsideWorkspace extends ConfinedFsError {
  constructor(path: string) {
    super('PATH_OUTSIDE_WORKSPACE', path);
  }
}
export class InvalidPath extends ConfinedFsError {
  constructor(path: string, why: string) {
    super('INVALID_PATH', path, `invalid path ${JSON.stringify(path)}: ${why}`);
  }
}
export class NotFound extends ConfinedFsError {
  constructor(path: string) {
    super('NOT_FOUND', path);
  }
}
export class IsSymlink extends ConfinedFsError {
  constructor(path: string) {
    super('IS_SYMLINK', path, `refusing to follow a symbolic link: ${path}`);
  }
}
export class NotADirectory extends ConfinedFsError {
  constructor(path: string) {
    super('NOT_A_DIRECTORY', path);
  }
}
export class IsADirectory extends ConfinedFsError {
  constructor(path: string) {
    super('IS_A_DIRECTORY', path);
  }
}
export class NotARegularFile extends ConfinedFsError {
  constructor(path: string) {
    super('NOT_A_REGULAR_FILE', path);
  }
}
export class HardLinked extends ConfinedFsError {
  constructor(path: string) {
    super('HARD_LINKED', path, `refusing a file with more than one hard link: ${path}`);
  }
}
export class TooLarge extends ConfinedFsError {
  constructor(path: string, limit: number) {
    super('TOO_LARGE', path, `file larger than ${limit} bytes: ${path}`);
  }
}
export class TooDeep extends ConfinedFsError {
  constructor(path: string) {
    super('TOO_DEEP', path, `directory tree too deep: ${path}`);
  }
}
export class AlreadyExists extends ConfinedFsError {
  constructor(path: string) {
    super('ALREADY_EXISTS', path);
  }
}
export class DirectoryNotEmpty extends ConfinedFsError {
  constructor(path: string) {
    super('DIRECTORY_NOT_EMPTY', path);
  }
}
export class PermissionDenied extends ConfinedFsError {
  constructor(path: string) {
    super('PERMISSION_DENIED', path);
  }
}
/** Remote drivers: the file agent inside the workspace died, did not answer, or answered nonsense. */
export class FilesUnavailable extends ConfinedFsError {
  constructor(path: string, why: string) {
    super('UNAVAILABLE', path, `workspace files unavailable (${why}): ${path}`);
  }
}

/** Translates an errno from a confined operation; unknown errors pass through unchanged. */
export function fromErrno(err: unknown, path: string): unknown {
  if (err instanceof ConfinedFsError) return err;
  switch ((err as NodeJS.ErrnoException | null)?.code) {
    case 'ENOENT':
      return new NotFound(path);
    case 'ELOOP':
      return new IsSymlink(path);
    case 'ENOTDIR':
      return new NotADirectory(path);
    case 'EISDIR':
      return new IsADirectory(path);
    case 'EEXIST':
      return new AlreadyExists(path);
    case 'ENOTEMPTY':
      return new DirectoryNotEmpty(path);
    case 'EACCES':
    case 'EPERM':
      return new PermissionDenied(path);
    case 'ENAMETOOLONG':
      return new InvalidPath(path, 'name too long');
    case 'EINVAL':
      return new InvalidPath(path, 'invalid operation for this path');
    default:
      return err;
  }
}
