import { execFileSync, spawn } from 'node:child_process';
import { request } from 'node:http';
import { containerName } from '../runners/src/workloads/docker.ts';
import { ensureDockerAndImage } from '../tests/runner/docker-helper.ts';
import type { Figure } from './figure.ts';
import { round } from './stats.ts';
import { startSystem } from './system.ts';

const MB = 100;
const RUNS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** 100 MB through `cat` to an SSE client, against `docker exec cat` into a pipe. */
export async function benchExecThroughput(): Promise<Figure[]> {
  await ensureDockerAndImage();
  // The figure is throughput, not the output cap: the cap is raised past what the run prints.
  const sys = await startSystem('docker', { runnerEnv: { KEEL_EXEC_OUTPUT_MAX_BYTES: String(1024 ** 3) } });
  try {
    const id = await sys.workspace('bench');
    // Text lines, like real command output.
    execFileSync('docker', [
      'exec',
      containerName(id),
      'sh',
      '-c',
      `head -c ${(MB * 1024 * 1024 * 3) / 4} /dev/urandom | base64 -w 76 > /tmp/big.txt`,
    ]);
    const size = Number(
      execFileSync('docker', ['exec', containerName(id), 'stat', '-c', '%s', '/tmp/big.txt']).toString(),
    );

    const viaDocker = async () => {
      const t = performance.now();
      await new Promise<void>((resolve, reject) => {
        const child = spawn('docker', ['exec', containerName(id), 'cat', '/tmp/big.txt'], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        child.stdout.on('data', () => {});
        child.on('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`docker exec exited ${code}`)),
        );
      });
      return (performance.now() - t) / 1000;
    };
    const viaKeel = async () => {
      const t = performance.now();
      const run = await sys.admin.request(
        'POST',
        `/api/workspaces/${id}/execute`,
        { command: ['cat', '/tmp/big.txt'] },
        { bearer: true },
      );
      // Read with node:http, as plainly as the baseline reads its pipe: a fetch() body goes
      // through web streams, which cost the client more CPU than the bytes themselves.
      const received = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${sys.base}/api/workspaces/${id}/executions/${run.body.executionId}/events`,
          { headers: { authorization: `Bearer ${sys.admin.accessToken}` } },
          (res) => {
            let n = 0;
            res.on('data', (chunk: Buffer) => {
              n += chunk.length;
            });
            res.on('end', () => resolve(n));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end();
      });
      if (received < size) throw new Error(`SSE delivered ${received} bytes of ${size}`);
      return (performance.now() - t) / 1000;
    };
    // Taken in turns, so that both see the same load on a shared machine; the median of
    // each stands for it.
    const bare: number[] = [];
    const keelRuns: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(await viaDocker());
      keelRuns.push(await viaKeel());
    }
    const direct = median(bare);
    const keel = median(keelRuns);
    const mbps = (x: number) => round(size / 1024 / 1024 / x, 0);
    return [
      {
        name: `exec output throughput (${MB} MB via cat, median of ${RUNS})`,
        keel: `${mbps(keel)} MB/s`,
        baseline: `${mbps(direct)} MB/s (docker exec cat)`,
        ratio: `${round(direct / keel)}×`,
        target: '≥ 0.5×',
        pass: direct / keel >= 0.5,
      },
    ];
  } finally {
    await sys.stop();
  }
}
