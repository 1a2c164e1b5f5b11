import { readFileSync } from 'node:fs';
import { spawnService } from '../tests/harness/processes.ts';
import type { Figure } from './figure.ts';
import { round } from './stats.ts';
import { startSystem } from './system.ts';

const STREAMS = 1000;

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

/** An idle runner's RSS, and the edge's RSS growth per open SSE output stream. */
export async function benchMemory(): Promise<Figure[]> {
  // The edge collects its garbage when asked (bench/collect-on-signal.mjs): its RSS is read
  // without whatever garbage happened to be there, which otherwise swamps 1,000 streams' worth.
  const sys = await startSystem('process', {
    edgeNodeArgs: ['--expose-gc', '--import', new URL('./collect-on-signal.mjs', import.meta.url).href],
  });
  const edgeRssKb = async () => {
    process.kill(sys.edge.child.pid!, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 1_000));
    return rssKb(sys.edge.child.pid!);
  };
  const bare = spawnService(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], process.env);
  const streams: AbortController[] = [];
  try {
    const id = await sys.workspace('mem');
    // Let the runner settle into idle before reading its memory.
    await new Promise((r) => setTimeout(r, 8_000));
    const runnerRss = rssKb(sys.runner.child.pid!);
    const bareRss = rssKb(bare.child.pid!);

    const run = await sys.admin.request(
      'POST',
      `/api/workspaces/${id}/execute`,
      { command: ['sleep', '600'] },
      { bearer: true },
    );
    const url = `/api/workspaces/${id}/executions/${run.body.executionId}/events`;
    const headers = { authorization: `Bearer ${sys.admin.accessToken}` };
    const open = async () => {
      const ac = new AbortController();
      streams.push(ac);
      const res = await sys.http(url, { headers, signal: ac.signal });
      if (res.status !== 200) throw new Error(`stream: ${res.status}`);
      void res.body
        ?.getReader()
        .read()
        .catch(() => {});
    };
    await open();
    await new Promise((r) => setTimeout(r, 1_000));
    const before = await edgeRssKb();
    for (let i = 0; i < STREAMS; i++) await open();
    await new Promise((r) => setTimeout(r, 3_000));
    const after = await edgeRssKb();
    const perStream = (after - before) / STREAMS;
    return [
      {
        name: 'idle runner RSS',
        keel: `${round(runnerRss / 1024, 0)} MB`,
        baseline: `${round(bareRss / 1024, 0)} MB (bare node process)`,
        ratio: `${round(runnerRss / bareRss)}×`,
        target: '≤ 120 MB',
        pass: runnerRss / 1024 <= 120,
      },
      {
        name: `edge memory per open output stream (${STREAMS} open)`,
        keel: `${round(perStream, 0)} KB`,
        baseline: `${round(before / 1024, 0)} MB edge RSS before`,
        ratio: `+${round((after - before) / 1024, 0)} MB`,
        target: '≤ 100 KB each',
        pass: perStream <= 100,
      },
    ];
  } finally {
    for (const s of streams) s.abort();
    await Promise.all([sys.stop(), bare.stop()]);
  }
}
