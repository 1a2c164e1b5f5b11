/**
 * The runner's calls to its edge about where workspaces are: which of its workspaces moved
 * away (fencing), and handing a saved workspace over..
 * Each is one HTTPS call with the runner's credential, bounded in time.
 */

import type { HandoffRequest, HandoffResponse, PlacementsCheckResponse } from '@keel/contract/fleet';
import type { z } from 'zod';
import type { EdgeCaller } from '../servers/access.ts';

export type { EdgeCaller };

export async function checkPlacements(
  _edge: EdgeCaller,
  _workspaces: { id: string; generation: number }[],
): Promise<z.infer<typeof PlacementsCheckResponse>> {
  throw new Error('not built yet');
}

export async function handOff(
  _edge: EdgeCaller,
  _workspaceId: string,
  _request: z.infer<typeof HandoffRequest>,
): Promise<z.infer<typeof HandoffResponse>> {
  throw new Error('not built yet');
}
