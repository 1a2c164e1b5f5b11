import type { JobOutcome, RunnerErrorCode } from '@keel/contract/jobs';
import { fileErrorRunnerCode } from '@keel/contract/runner-errors';
import { ConfinedFsError } from './files/confined-fs.ts';
import { WorkloadError } from './workloads/types.ts';

/** A refusal a job reports as a value, with the code the edge answers it by. */
export class JobError extends Error {
  constructor(
    readonly code: RunnerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The job outcome a handler's error is reported as; undefined for an unexpected one. */
export function failedOutcome(err: unknown): JobOutcome | undefined {
  if (err instanceof JobError) return { ok: false, error: { code: err.code, message: err.message } };
  if (err instanceof ConfinedFsError) {
    return { ok: false, error: { code: fileErrorRunnerCode[err.code], message: err.message } };
  }
  if (err instanceof WorkloadError && err.code === 'WORKLOAD_NOT_RUNNING') {
    return { ok: false, error: { code: 'workspace_not_running', message: err.message } };
  }
  if (err instanceof WorkloadError && err.code === 'WORKLOAD_NOT_FOUND') {
    return { ok: false, error: { code: 'not_found', message: err.message } };
  }
  return undefined;
}
