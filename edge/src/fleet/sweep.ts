/**
 * The fleet's sweep (see contract/fleet): runs inside runners' check-ins, at most one at a time
 * across every edge. Declares runners lost, moves their workspaces, places queued workspaces,
 * kicks drains along and asks for scheduled snapshots.
 */
import type { Services } from '../services.ts';

export async function sweepFleet(_services: Services): Promise<void> {}
