import { randomBytes } from 'node:crypto';
import type { ApiClient } from './api.ts';

/** What an editor does over the API, timed per kind: a folder listed, a file written and read, a command run. */
export type IdeOp = 'list' | 'write' | 'read' | 'run';

export interface IdeFigures {
  ms: Record<IdeOp, number[]>;
  errors: string[];
}

/**
 * An IDE-like client on one workspace: list, write, read back (checked), run a short command
 * and read its output stream to the exit, then wait `intervalMs`, until stopped.
 */
export function driveIde(
  api: ApiClient,
  workspaceId: string,
  intervalMs: number,
): { stop(): Promise<IdeFigures> } {
  const figures: IdeFigures = { ms: { list: [], write: [], read: [], run: [] }, errors: [] };
  const ws = `/api/workspaces/${workspaceId}`;
  let running = true;
  /** Runs and times one operation; false when it failed (and is counted as failed). */
  const timed = async (op: IdeOp, fn: () => Promise<void>): Promise<boolean> => {
    const t = performance.now();
    try {
      await fn();
      figures.ms[op].push(performance.now() - t);
      return true;
    } catch (err) {
      figures.errors.push(`${op}: ${(err as Error).message}`);
      return false;
    }
  };
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const path = `scale/file-${i % 10}.txt`;
      const content = randomBytes(768).toString('base64');
      await timed('list', async () => {
        await api.call('GET', `${ws}/files/tree?path=`);
      });
      const written = await timed('write', async () => {
        await api.call('PUT', `${ws}/files?path=${encodeURIComponent(path)}`, { content });
      });
      await timed('read', async () => {
        const got = await api.call<{ content: string }>(
          'GET',
          `${ws}/files?path=${encodeURIComponent(path)}`,
        );
        // After a refused write the file holds what it held: that write is the one failure.
        if (written && got.content !== content) throw new Error(`read ${path}: not what was written`);
      });
      await timed('run', async () => {
        const run = await api.call<{ executionId: string }>('POST', `${ws}/execute`, {
          command: ['sh', '-c', `echo scale-${i}`],
        });
        const events = await api.raw('GET', `${ws}/executions/${run.executionId}/events`);
        const text = await events.text();
        if (!events.ok) throw new Error(`events: HTTP ${events.status}`);
        if (!text.includes(`scale-${i}`) || !/event: ?exit/.test(text))
          throw new Error(`run: output or exit missing: ${text.slice(0, 200)}`);
      });
      if (running) await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return figures;
    },
  };
}
