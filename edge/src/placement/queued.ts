/**
 * Queued workspaces: placed when a runner has room (the sweep calls this). A workspace that
 * left a runner is made from its latest snapshot: see fleet/relocate.ts `queuedCreateFields`.
 */
import type { Services } from '../services.ts';

export async function placeQueued(_services: Services): Promise<void> {}
