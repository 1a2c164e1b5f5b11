import { mapLimit } from './api.ts';
import type { ScalePerson } from './people.ts';

export interface StartedWorkspace {
  person: ScalePerson;
  id: string;
  /** From the create request until its status read `running`, ms. */
  startMs: number;
}

const START_TIMEOUT_MS = 300_000;

/** What each test workspace asks for: a ceiling that `cat` at 40 KB/s stays far below. */
export interface WorkspaceSize {
  cpus: number;
  memoryMb: number;
}

/** Waiting longer than this for a place on a runner is a break, not a slow start. */
const QUEUED_TIMEOUT_MS = 30_000;

/** Creates one workspace per person, `concurrency` at a time, each timed until it runs. */
export async function startWorkspaces(
  people: ScalePerson[],
  concurrency: number,
  size: WorkspaceSize,
  firstIndex = 0,
): Promise<StartedWorkspace[]> {
  return mapLimit(people, concurrency, async (person, i) => {
    const t = performance.now();
    const ws = await person.api.call<{ id: string }>('POST', '/api/workspaces', {
      name: `scale-${firstIndex + i}`,
      resources: size,
    });
    for (;;) {
      const s = await person.api.call<{ status: string; reason?: string }>(
        'GET',
        `/api/workspaces/${ws.id}/status`,
      );
      if (s.status === 'running') break;
      if (s.status === 'failed') throw new Error(`workspace ${ws.id} failed: ${s.reason}`);
      if (s.status === 'queued' && performance.now() - t > QUEUED_TIMEOUT_MS)
        throw new Error(`workspace ${ws.id} still queued: ${s.reason}`);
      if (performance.now() - t > START_TIMEOUT_MS) throw new Error(`workspace ${ws.id} still ${s.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { person, id: ws.id, startMs: performance.now() - t };
  });
}

/** Deletes what the test made, so a run against a shared Keel leaves no workspaces behind. */
export async function deleteWorkspaces(started: StartedWorkspace[]): Promise<void> {
  await mapLimit(started, 8, (w) =>
    w.person.api.call('DELETE', `/api/workspaces/${w.id}`).catch(() => undefined),
  );
}
