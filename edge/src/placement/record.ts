/**
 * The decision record: every placement decision is a row of `placements` with each candidate's
 * verdict, refusal, detail and score, and a summary sentence for people.
 */
import {
  PlacementCandidate,
  type PlacementDecision,
  type PlacementReason,
  type PlacementStrategy,
} from '@keel/contract/placement';
import { placements } from '@keel/drizzle/schema';
import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { newId } from '../ids.ts';
import type { Services } from '../services.ts';

export interface DecisionInput {
  organizationId: string;
  workspaceId: string;
  generation: number;
  reason: PlacementReason;
  strategy: PlacementStrategy | null;
  decidedBy: PlacementDecision['decidedBy'];
  runnerId: string | null;
  serverId: string | null;
  summary: string;
  candidates: PlacementCandidate[];
}

export async function recordDecision(services: Services, input: DecisionInput): Promise<PlacementDecision> {
  const id = newId('placement');
  const decidedAt = services.clock.now();
  await services.db.insert(placements).values({ id, ...input, decidedAt });
  return { id, ...input, decidedAt: decidedAt.toISOString() };
}

type PlacementRow = typeof placements.$inferSelect;

const StoredCandidates = z.array(PlacementCandidate);

export function decisionView(row: PlacementRow): PlacementDecision {
  const candidates = StoredCandidates.safeParse(row.candidates);
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    generation: row.generation,
    reason: row.reason as PlacementDecision['reason'],
    strategy: (row.strategy ?? null) as PlacementDecision['strategy'],
    decidedBy: row.decidedBy as PlacementDecision['decidedBy'],
    runnerId: row.runnerId,
    serverId: row.serverId,
    summary: row.summary,
    candidates: candidates.success ? candidates.data : [],
    decidedAt: row.decidedAt.toISOString(),
  };
}

/** The newest decision and up to 20 earlier ones, newest first. */
export async function placementHistory(
  services: Services,
  workspaceId: string,
): Promise<{ current: PlacementDecision | null; history: PlacementDecision[] }> {
  const rows = await services.db
    .select()
    .from(placements)
    .where(eq(placements.workspaceId, workspaceId))
    .orderBy(desc(placements.decidedAt), desc(placements.id))
    .limit(21);
  const [current, ...history] = rows.map(decisionView);
  return { current: current ?? null, history };
}
