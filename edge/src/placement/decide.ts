/**
 * Placement: which runner a workspace goes to, by its organization's policy (or the
 * install's), and why. Every decision is recorded (table `placements`) with each candidate and
 * why it was chosen or refused.
 */
import type {
  PlacementCandidate,
  PlacementDecision,
  PlacementReason,
  WorkspacePlacementRequest,
} from '@keel/contract/placement';
import type { DriverKind } from '@keel/contract/runners';
import type { runners } from '@keel/drizzle/schema';
import type { Services } from '../services.ts';
import { type Candidate, judge, loadCandidates, type Need } from './candidates.ts';
import { recordDecision } from './record.ts';
import { type Eligible, pick, preferredMatches } from './strategies.ts';

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

interface Judged extends Eligible {
  candidate: Candidate;
  driver: DriverKind;
}

/** Decides and records. Never throws for "nothing fits": the outcome's runner is null. */
export async function decidePlacement(services: Services, ask: PlacementAsk): Promise<PlacementOutcome> {
  const {
    policy: { effective: policy },
    candidates,
  } = await loadCandidates(services, ask.organizationId);
  const labels = requiredLabels(policy.requiredLabels, ask.request);
  const preferred = { ...policy.preferredLabels, ...(ask.request?.preferredLabels ?? {}) };
  const need: Need = {
    cpus: ask.resources.cpus,
    memoryMb: ask.resources.memoryMb,
    diskMb: ask.resources.diskMb,
    gpus: ask.resources.gpus,
    labels,
    exclude: new Set(ask.exclude ?? []),
    drivers: ask.drivers,
    cpuOvercommit: policy.cpuOvercommit,
    memoryOvercommit: policy.memoryOvercommit,
  };

  const views: PlacementCandidate[] = [];
  const eligible: Judged[] = [];
  for (const candidate of candidates) {
    const j = judge(candidate, need);
    const { runner } = candidate;
    if (j.eligible) {
      eligible.push({
        runnerId: runner.id,
        labels: runner.labels,
        score: j.score,
        candidate,
        driver: j.driver,
      });
    }
    views.push({
      runnerId: runner.id,
      runnerName: runner.name,
      verdict: j.eligible ? 'eligible' : 'refused',
      refusal: j.eligible ? null : j.refusal,
      detail: j.eligible ? null : j.detail,
      score: j.eligible && policy.strategy === 'least-loaded' ? j.score : null,
    });
  }
  const chosen = await pick(services, ask.organizationId, policy.strategy, eligible, preferred);
  if (chosen) {
    const view = views.find((v) => v.runnerId === chosen.runnerId)!;
    view.verdict = 'chosen';
  }
  const summary = chosen
    ? chosenSummary(chosen, policy.strategy, preferred, eligible.length)
    : noneSummary(views, candidates.length);
  const decision = await recordDecision(services, {
    organizationId: ask.organizationId,
    workspaceId: ask.workspaceId,
    generation: ask.generation,
    reason: ask.reason,
    strategy: policy.strategy,
    decidedBy: 'policy',
    runnerId: chosen?.runnerId ?? null,
    serverId: null,
    summary,
    candidates: views,
  });
  return {
    runner: chosen?.candidate.runner ?? null,
    driver: chosen?.driver ?? null,
    decision,
  };
}

/**
 * The policy's required labels, the workspace's, and its region (a label like any other). A
 * workspace adds to its organization's requirements, never lifts one: where both name a key
 * with different values, no runner can match.
 */
export function requiredLabels(
  policy: Record<string, string>,
  request: WorkspacePlacementRequest | null | undefined,
): Array<[string, string]> {
  const pairs: Array<[string, string]> = [
    ...Object.entries(policy),
    ...Object.entries(request?.requiredLabels ?? {}),
    ...(request?.region ? [['region', request.region] as [string, string]] : []),
  ];
  const seen = new Set<string>();
  return pairs.filter(([k, v]) => {
    const key = `${k}\u0000${v}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function chosenSummary(
  chosen: Judged,
  strategy: string,
  preferred: Record<string, string>,
  eligible: number,
): string {
  const name = chosen.candidate.runner.name;
  const of = `${eligible} eligible runner${eligible === 1 ? '' : 's'}`;
  const prefers = Object.keys(preferred).length;
  const pref =
    prefers > 0
      ? `, matching ${preferredMatches(chosen.labels, preferred)} of ${prefers} preferred labels`
      : '';
  if (strategy === 'round-robin') return `${name}: next in turn among ${of}${pref} (round-robin)`;
  return `${name}: the most room left after placing (${Math.round(chosen.score * 100)}%) among ${of}${pref} (least-loaded)`;
}

/** Why none: the refusals counted by kind, most common first ("2 lack region=eu, 1 offline"). */
function noneSummary(views: PlacementCandidate[], total: number): string {
  if (total === 0) return 'No runner is registered for this organization';
  const counts = new Map<string, number>();
  for (const v of views) if (v.refusal) counts.set(v.refusal, (counts.get(v.refusal) ?? 0) + 1);
  const parts = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${n} ${code}`);
  return `No runner fits: ${total} refused (${parts.join(', ')})`;
}
