/**
 * The `workspace.create` job of a workspace that moves: where it now lives (runner, driver,
 * server), at its new generation, from the files it is restored from.
 */
import type { RunnerJob } from '@keel/contract/jobs';
import type { DriverKind } from '@keel/contract/runners';
import { CONTRACT_VERSION } from '@keel/contract/version';
import type { WorkspaceSource } from '@keel/contract/workspaces';
import type { workspaces } from '@keel/drizzle/schema';
import { loadInstallSettings } from '../install/settings.ts';
import { serverSpec } from '../servers/placement.ts';
import type { ServerRow } from '../servers/store.ts';
import type { Services } from '../services.ts';

type WorkspaceRow = typeof workspaces.$inferSelect;
export type CreateJob = Extract<RunnerJob, { type: 'workspace.create' }>;

export interface MoveCreate {
  generation: number;
  driver: DriverKind;
  server: ServerRow | null;
  source: WorkspaceSource;
  snapshotTakenAt?: string;
  relocation: { reason: 'lost' | 'drain' | 'manual' };
  start: boolean;
}

export async function moveCreateJob(
  services: Services,
  row: WorkspaceRow,
  m: MoveCreate,
): Promise<CreateJob> {
  const { settings } = await loadInstallSettings(services.db);
  const r = row.resources;
  return {
    v: CONTRACT_VERSION,
    type: 'workspace.create',
    workspaceId: row.id,
    generation: m.generation,
    spec: {
      cpus: r.cpus,
      memoryMb: r.memoryMb,
      ...(r.diskMb ? { diskMb: r.diskMb } : {}),
      ...(r.gpus ? { gpus: r.gpus } : {}),
      network: row.network,
      driver: m.driver,
      egressAllow: settings.egressAllow,
      organizationId: row.organizationId,
      ...(m.server ? serverSpec(m.server, row.id) : {}),
    },
    source: m.source,
    ...(m.snapshotTakenAt ? { snapshotTakenAt: m.snapshotTakenAt } : {}),
    relocation: m.relocation,
    start: m.start,
  };
}
