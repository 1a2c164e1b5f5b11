/**
 * The runner's calls to its edge about where workspaces are: which of its workspaces moved
 * away (fencing), and handing a saved workspace over.
 * Each is one HTTPS call with the runner's credential, bounded in time, its answer parsed
 * before anything is done with it.
 */

import {
  HandoffRequest,
  HandoffResponse,
  PlacementsCheckRequest,
  PlacementsCheckResponse,
} from '@keel/contract/fleet';
import type { z } from 'zod';
import { callEdge, type EdgeCaller, type EdgeCallFailure } from '../edge-call.ts';

export type { EdgeCaller };

/**
 * Why the edge gave no answer to use. unreachable: no answer in time (or a 5xx); refused: the
 * edge said no (4xx, with its message); invalid: an answer that is not what the route returns.
 */
export class FleetCallError extends Error {
  override name = 'FleetCallError';
  constructor(
    readonly reason: EdgeCallFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const fleetCallError = (reason: EdgeCallFailure, message: string, status?: number) =>
  new FleetCallError(reason, message, status);

/** Those of `workspaces` (held at those generations) that are no longer this runner's. */
export async function checkPlacements(
  edge: EdgeCaller,
  workspaces: { id: string; generation: number }[],
): Promise<z.infer<typeof PlacementsCheckResponse>> {
  const request = PlacementsCheckRequest.parse({ workspaces });
  const body = await callEdge(
    edge,
    { method: 'POST', path: '/api/runners/placements/check', what: 'the placements check', body: request },
    fleetCallError,
  );
  const parsed = PlacementsCheckResponse.safeParse(body);
  if (!parsed.success)
    throw new FleetCallError('invalid', 'the edge answered an unreadable placements check');
  return parsed.data;
}

/** Hands a stopped, saved workspace over to where it moves; `moved: false` means keep it. */
export async function handOff(
  edge: EdgeCaller,
  workspaceId: string,
  request: z.infer<typeof HandoffRequest>,
): Promise<z.infer<typeof HandoffResponse>> {
  const path = `/api/runners/workspaces/${encodeURIComponent(workspaceId)}/handoff`;
  const body = await callEdge(
    edge,
    { method: 'POST', path, what: `the handoff of ${workspaceId}`, body: HandoffRequest.parse(request) },
    fleetCallError,
  );
  const parsed = HandoffResponse.safeParse(body);
  if (!parsed.success)
    throw new FleetCallError('invalid', `the edge answered an unreadable handoff of ${workspaceId}`);
  return parsed.data;
}
