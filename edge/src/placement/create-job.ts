/**
 * The `workspace.create` job for a placed workspace, built in one place: the create route, the
 * queued placement and a relocation all send the same job for the same row.
 */

import type { RunnerJob } from '@keel/contract/jobs';
import { runnerQueueName } from '@keel/contract/keys';
import type { DriverKind } from '@keel/contract/runners';
import type { JobTrace } from '@keel/contract/trace';
import { CONTRACT_VERSION } from '@keel/contract/version';
import type { workspaces } from '@keel/drizzle/schema';
import { serverSpec } from '../servers/placement.ts';
import type { ServerRow } from '../servers/store.ts';
import type { Services } from '../services.ts';

type WorkspaceRow = typeof workspaces.$inferSelect;
export type CreateJob = Extract<RunnerJob, { type: 'workspace.create' }>;

export interface CreateJobOptions {
  /** The install's allowed destinations as they stand now. */
  egressAllow: string[];
  /** The infrastructure server it lives on, when it does. */
  server?: ServerRow | null;
  /** Extra fields of a move (`relocation`, `snapshotTakenAt`, `start`) or another source. */
  extra?: Partial<Pick<CreateJob, 'relocation' | 'snapshotTakenAt' | 'start' | 'source'>>;
  /** The request it serves (http/job-trace.ts), carried to the runner. */
  trace?: JobTrace;
}

/** The job for `row` on its runner and driver (both must be set). */
export function buildCreateJob(row: WorkspaceRow, options: CreateJobOptions): CreateJob {
  if (!row.runnerId || !row.driver) throw new Error(`workspace ${row.id} is not placed`);
  const r = row.resources;
  return {
    v: CONTRACT_VERSION,
    type: 'workspace.create',
    workspaceId: row.id,
    generation: row.generation,
    spec: {
      cpus: r.cpus,
      memoryMb: r.memoryMb,
      ...(r.diskMb ? { diskMb: r.diskMb } : {}),
      ...(r.gpus ? { gpus: r.gpus } : {}),
      network: row.network,
      driver: row.driver as DriverKind,
      egressAllow: options.egressAllow,
      organizationId: row.organizationId,
      ...(options.server ? serverSpec(options.server, row.id) : {}),
    },
    source: row.source as CreateJob['source'],
    ...options.extra,
  };
}

/** Builds the job and puts it on the workspace's runner's queue. */
export async function enqueueCreate(
  services: Services,
  row: WorkspaceRow,
  options: CreateJobOptions,
): Promise<void> {
  await services.queue.enqueue(
    runnerQueueName(row.runnerId!),
    buildCreateJob(row, options),
    options.trace ? { trace: options.trace } : {},
  );
}
