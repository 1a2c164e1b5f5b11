/*
 * The one mapping of refusals on their way from a workspace to a person: the runner's file
 * layer names why it refused (FileErrorCode), the runner reports that as a job error
 * (RunnerErrorCode), and the edge answers it as an API error with its HTTP status. Both
 * sides read these tables, so a new refusal is added here once.
 */
import { type ErrorCode, errorStatus } from './errors.ts';
import type { RunnerErrorCode } from './jobs.ts';

/** Why the runner's confined file layer refused an operation. */
export type FileErrorCode =
  | 'PATH_OUTSIDE_WORKSPACE'
  | 'INVALID_PATH'
  | 'NOT_FOUND'
  | 'IS_SYMLINK'
  | 'NOT_A_DIRECTORY'
  | 'IS_A_DIRECTORY'
  | 'NOT_A_REGULAR_FILE'
  | 'HARD_LINKED'
  | 'TOO_LARGE'
  | 'TOO_DEEP'
  | 'ALREADY_EXISTS'
  | 'DIRECTORY_NOT_EMPTY'
  | 'PERMISSION_DENIED'
  /** The files cannot be reached now (remote drivers: the in-workspace file agent died or is silent). */
  | 'UNAVAILABLE';

/** The job error a file refusal is reported as. */
export const fileErrorRunnerCode = {
  PATH_OUTSIDE_WORKSPACE: 'path_outside_workspace',
  INVALID_PATH: 'path_outside_workspace',
  TOO_DEEP: 'path_outside_workspace',
  NOT_FOUND: 'not_found',
  IS_SYMLINK: 'is_symlink',
  HARD_LINKED: 'is_symlink',
  NOT_A_DIRECTORY: 'not_a_directory',
  IS_A_DIRECTORY: 'not_a_file',
  NOT_A_REGULAR_FILE: 'not_a_file',
  TOO_LARGE: 'too_large',
  ALREADY_EXISTS: 'conflict',
  DIRECTORY_NOT_EMPTY: 'conflict',
  PERMISSION_DENIED: 'path_outside_workspace',
  UNAVAILABLE: 'unavailable',
} as const satisfies Record<FileErrorCode, RunnerErrorCode>;

/** The API error a job error is answered with; its HTTP status comes from `errorStatus`. */
export const runnerErrorApiCode = {
  not_found: 'not_found',
  path_outside_workspace: 'invalid_path',
  is_symlink: 'invalid_path',
  not_a_file: 'invalid_path',
  not_a_directory: 'invalid_path',
  too_large: 'payload_too_large',
  conflict: 'conflict',
  workspace_not_running: 'workspace_not_running',
  invalid: 'validation_failed',
  internal: 'runner_unavailable',
  unavailable: 'runner_unavailable',
  fenced: 'conflict',
} as const satisfies Record<RunnerErrorCode, ErrorCode>;

/** The HTTP status the API answers a file refusal with. */
export function fileErrorStatus(code: FileErrorCode): number {
  return errorStatus[runnerErrorApiCode[fileErrorRunnerCode[code]]];
}
