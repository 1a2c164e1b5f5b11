import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Figure } from './figure.ts';
import { round, summarize, timeEach } from './stats.ts';
import { startSystem } from './system.ts';

const N = 500;

/** A 2 KB file read over HTTP through edge and runner, against reading it directly on the host. */
export async function benchFileRead(): Promise<Figure[]> {
  const sys = await startSystem('process');
  try {
    const id = await sys.workspace('bench');
    const content = 'x'.repeat(2048);
    await sys.admin.request(
      'PUT',
      `/api/workspaces/${id}/files?path=small.txt`,
      { content },
      { bearer: true },
    );
    const onHost = join(sys.dataDir, 'workspaces', id, 'workspace', 'small.txt');
    const direct = summarize(await timeEach(N, () => readFile(onHost)));
    const headers = { authorization: `Bearer ${sys.admin.accessToken}` };
    const keel = summarize(
      await timeEach(N, async () => {
        const res = await sys.http(`/api/workspaces/${id}/files?path=small.txt`, { headers });
        const body = (await res.json()) as { content: string };
        if (body.content.length !== content.length) throw new Error('short read');
      }),
    );
    return [
      {
        name: `2 KB file read, p50 (n=${N})`,
        keel: `${round(keel.p50)} ms (p99 ${round(keel.p99)})`,
        baseline: `${round(direct.p50, 3)} ms (fs.readFile)`,
        ratio: `+${round(keel.p50 - direct.p50)} ms`,
        target: '≤ 5 ms',
        pass: keel.p50 <= 5,
      },
    ];
  } finally {
    await sys.stop();
  }
}
