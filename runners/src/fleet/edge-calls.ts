/**
 * The runner's calls to its edge about where workspaces are: which of its workspaces moved
 * away (fencing), and handing a saved workspace over.
 * Each is one HTTPS call with the runner's credential, bounded in time, its answer parsed
 * before anything is done with it.
 */

import { ErrorBody } from '@keel/contract/errors';
import {
  HandoffRequest,
  HandoffResponse,
  PlacementsCheckRequest,
  PlacementsCheckResponse,
} from '@keel/contract/fleet';
import type { z } from 'zod';
import type { EdgeCaller } from '../servers/access.ts';

export type { EdgeCaller };

/**
 * Why the edge gave no answer to use. unreachable: no answer in time (or a 5xx); refused: the
 * edge said no (4xx, with its message); invalid: an answer that is not what the route returns.
 */
export class FleetCallError extends Error {
  override name = 'FleetCallError';
  constructor(
    readonly reason: 'unreachable' | 'refused' | 'invalid',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Those of `workspaces` (held at those generations) that are no longer this runner's. */
export async function checkPlacements(
  edge: EdgeCaller,
  workspaces: { id: string; generation: number }[],
): Promise<z.infer<typeof PlacementsCheckResponse>> {
  const request = PlacementsCheckRequest.parse({ workspaces });
  const body = await postEdge(edge, '/api/runners/placements/check', request, 'the placements check');
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
  const body = await postEdge(edge, path, HandoffRequest.parse(request), `the handoff of ${workspaceId}`);
  const parsed = HandoffResponse.safeParse(body);
  if (!parsed.success)
    throw new FleetCallError('invalid', `the edge answered an unreadable handoff of ${workspaceId}`);
  return parsed.data;
}

async function postEdge(edge: EdgeCaller, path: string, payload: unknown, what: string): Promise<unknown> {
  let res: Response;
  let body: unknown;
  const signal = AbortSignal.timeout(edge.timeoutMs ?? 10_000);
  try {
    res = await fetch(new URL(path, edge.edgeUrl), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${edge.credential}`,
        accept: 'application/json',
        'content-type': 'application/json',
      },
      body: JSON.stringify(payload),
      signal,
      redirect: 'error',
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw new FleetCallError(
      'unreachable',
      timedOut ? `the edge did not answer ${what} in time` : `the edge could not be reached for ${what}`,
    );
  }
  try {
    // The body's read is bounded by the same signal as the call.
    body = await res.json();
  } catch {
    throw new FleetCallError(
      res.status >= 500 ? 'unreachable' : 'invalid',
      `the edge answered ${what} with no JSON (${res.status})`,
      res.status,
    );
  }
  if (!res.ok) {
    const refusal = ErrorBody.safeParse(body);
    const reason = refusal.success ? refusal.data.error.message : 'no reason given';
    throw new FleetCallError(
      res.status >= 500 ? 'unreachable' : 'refused',
      `the edge refused ${what} (${res.status}): ${reason}`,
      res.status,
    );
  }
  return body;
}
