import type { RunnerJob, RunnerJobType } from '@keel/contract/jobs';
import type { RunnerContext } from '../runner-context.ts';

export type JobOf<T extends RunnerJobType> = Extract<RunnerJob, { type: T }>;

/** Serves one job type; its result is the job's answer, its JobError the job's refusal. */
export type JobHandler<T extends RunnerJobType> = (job: JobOf<T>, ctx: RunnerContext) => unknown;

/** Every job type with its handler: a job type without one does not type-check. */
export type JobHandlers = { [T in RunnerJobType]: JobHandler<T> };
