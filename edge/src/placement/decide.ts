/**
 * Placement: which runner a workspace goes to, by its organization's policy (or the
 * install's), and why. Every decision is recorded (table `placements`) with each candidate and
 * why it was chosen or refused.
 */
import type { PlacementDecision, PlacementReason, WorkspacePlacementRequest } from '@keel/contract/placement';
import type { DriverKind } from '@keel/contract/runners';
import type { runners } from '@keel/drizzle/schema';
import type { Services } from '../services.ts';

type RunnerRow = typeof runners.$inferSelect;

export interface PlacementAsk {
  organizationId: string;
  workspaceId: string;
  /** The generation the workspace will hold once placed (recorded with the decision). */
  generation: number;
  resources: { cpus: number; memoryMb: number; diskMb?: number; gpus?: number };
  request?: WorkspacePlacementRequest | null;
  /** Runners it must not go to (the one it leaves). */
  exclude?: string[];
  /** Only these drivers (a move keeps to drivers that can restore it: every local driver can). */
  drivers?: DriverKind[];
  reason: PlacementReason;
}

export interface PlacementOutcome {
  /** null: nothing fits; `decision.summary` says why. */
  runner: RunnerRow | null;
  driver: DriverKind | null;
  decision: PlacementDecision;
}

/** Decides and records. Never throws for "nothing fits": the outcome's runner is null. */
export async function decidePlacement(_services: Services, _ask: PlacementAsk): Promise<PlacementOutcome> {
  throw new Error('placement policies are not built yet');
}
