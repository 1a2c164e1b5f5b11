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
import { placements, runners } from '@keel/drizzle/schema';
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { newId } from '../ids.ts';
import type { Database } from '../services/database.ts';
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

function insertQuery(db: Database) {
  const p = (name: keyof DecisionInput | 'id' | 'decidedAt') => sql.placeholder(name);
  return db
    .insert(placements)
    .values({
      id: p('id'),
      organizationId: p('organizationId'),
      workspaceId: p('workspaceId'),
      generation: p('generation'),
      reason: p('reason'),
      strategy: p('strategy'),
      decidedBy: p('decidedBy'),
      runnerId: p('runnerId'),
      serverId: p('serverId'),
      summary: p('summary'),
      candidates: p('candidates'),
      decidedAt: p('decidedAt'),
    })
    .prepare('placement_record');
}

/** Prepared once per database handle: a decision is recorded on every create (see candidates.ts). */
const prepared = new WeakMap<Database, ReturnType<typeof insertQuery>>();

export async function recordDecision(services: Services, input: DecisionInput): Promise<PlacementDecision> {
  const id = newId('placement');
  const decidedAt = services.clock.now();
  let query = prepared.get(services.db);
  if (!query) {
    query = insertQuery(services.db);
    prepared.set(services.db, query);
  }
  await query.execute({ id, ...input, decidedAt });
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

/** What a refusal of a shared runner says to people outside the install's administrators: no figures. */
const SHARED_DETAIL: Partial<Record<PlacementCandidate['refusal'] & string, string>> = {
  cpu: 'not enough CPU free',
  memory: 'not enough memory free',
  disk: 'not enough disk free',
  gpu: 'not enough GPUs free',
  capacity: 'holds its most workspaces',
};

/**
 * Decisions as an organization's people may read them: a shared runner's free CPU, memory and
 * disk are its host's (and every organization's use of it), which only install administrators
 * see, so its refusals lose their figures and its score.
 */
export async function withoutSharedHostFigures(
  services: Services,
  view: { current: PlacementDecision | null; history: PlacementDecision[] },
): Promise<typeof view> {
  const all = [...(view.current ? [view.current] : []), ...view.history];
  const ids = [...new Set(all.flatMap((d) => d.candidates.map((c) => c.runnerId)))];
  if (ids.length === 0) return view;
  const shared = new Set(
    (
      await services.db
        .select({ id: runners.id })
        .from(runners)
        .where(and(inArray(runners.id, ids), isNull(runners.organizationId)))
    ).map((r) => r.id),
  );
  if (shared.size === 0) return view;
  const hide = (d: PlacementDecision): PlacementDecision => ({
    ...d,
    // "the most room left after placing (83%)" of a shared runner is its host's figure too.
    summary: d.runnerId && shared.has(d.runnerId) ? d.summary.replace(/ \(\d+%\)/, '') : d.summary,
    candidates: d.candidates.map((c) =>
      shared.has(c.runnerId)
        ? {
            ...c,
            score: null,
            detail: c.refusal ? (SHARED_DETAIL[c.refusal] ?? c.detail) : c.detail,
          }
        : c,
    ),
  });
  return { current: view.current ? hide(view.current) : null, history: view.history.map(hide) };
}
