import type { RunnerJob } from '@keel/contract/jobs';
import { runnerErrorApiCode } from '@keel/contract/runner-errors';
import type { JobTrace } from '@keel/contract/trace';
import type { z } from 'zod';
import { ApiError } from '../http/api-error.ts';
import { RunnerGoneError } from '../services/queue.ts';
import type { Services } from '../services.ts';
import { queueOf, RUNNER_OFFLINE, type WorkspaceRow } from './access.ts';

const CALL_TIMEOUT_MS = 15_000;

/** Asks the workspace's runner and waits for its answer, turning its errors into API errors. */
export async function callRunner<S extends z.ZodType>(
  services: Services,
  row: WorkspaceRow,
  job: RunnerJob,
  resultSchema: S,
  /** The request it serves (http/job-trace.ts), carried to the runner. */
  trace?: JobTrace,
): Promise<z.output<S>> {
  let outcome: Awaited<ReturnType<Services['queue']['call']>>;
  try {
    outcome = await services.queue.call(queueOf(row), job, CALL_TIMEOUT_MS, trace);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof RunnerGoneError) {
      throw new ApiError('runner_unavailable', `The workspace is unavailable: ${RUNNER_OFFLINE}`);
    }
    throw new ApiError('runner_unavailable', 'The workspace runner did not answer in time');
  }
  if (!outcome.ok) throw new ApiError(runnerErrorApiCode[outcome.error.code], outcome.error.message);
  const parsed = resultSchema.safeParse(outcome.result);
  if (!parsed.success) throw new ApiError('runner_unavailable', 'The runner answered in an unexpected shape');
  return parsed.data;
}
