import { after, describe, test } from 'node:test';
import { testInfra } from '../harness/infra.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { startWorkerdEdge } from '../harness/workerd-edge.ts';
import { runWorkerdWorkspaceStory } from '../harness/workerd-workspace-story.ts';

describe('terminal through the edge on workerd (wrangler dev)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('a runner registers through workerd; a file and a command, then a shell opens, echoes, reattaches and exits over its WebSocket', async () => {
    const infra = await testInfra();
    const edge = await startWorkerdEdge({
      redisUrl: infra.redisUrl,
      databaseUrl: await freshDatabaseUrl(),
      redisPrefix: `workerd-trm${process.pid}:`,
    });
    cleanups.push(edge.stop);
    try {
      await runWorkerdWorkspaceStory(edge, infra.redisUrl, cleanups);
    } catch (err) {
      console.error(edge.output());
      throw err;
    }
  });
});
