import { execFileSync, spawn } from 'node:child_process';
import { request } from 'node:http';
import { containerName } from '../runners/src/workloads/docker.ts';
import { ensureDockerAndImage } from '../tests/runner/docker-helper.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { SsePayloadCounter } from './sse-payload.ts';
import { median, round } from './stats.ts';
import { startSystem } from './system.ts';

const MB = count(100, 10);
const RUNS = count(3, 1);

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
        let received = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        child.on('close', (code) => {
          if (code !== 0) reject(new Error(`docker exec exited ${code}`));
          else if (received !== size) reject(new Error(`docker exec delivered ${received} bytes of ${size}`));
          else resolve();
        });
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
      if (run.status !== 202) throw new Error(`execute: HTTP ${run.status} ${JSON.stringify(run.body)}`);
      // Read with node:http, as plainly as the baseline reads its pipe: a fetch() body goes
      // through web streams, which cost the client more CPU than the bytes themselves. The
      // chunks are kept and their events' output counted once the clock has stopped: counting
      // as they come would add the client's CPU to a figure that every process shares.
      const chunks: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const req = request(
          `${sys.base}/api/workspaces/${id}/executions/${run.body.executionId}/events`,
          { headers: { authorization: `Bearer ${sys.admin.accessToken}` } },
          (res) => {
            if (res.statusCode !== 200) reject(new Error(`events: HTTP ${res.statusCode}`));
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', resolve);
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end();
      });
      const seconds = (performance.now() - t) / 1000;
      // The output the events carry, byte for byte as many as the baseline counts from its pipe.
      const payload = new SsePayloadCounter();
      for (const chunk of chunks) payload.push(chunk);
      const received = payload.bytes.get('stdout') ?? 0;
      if (received !== size) throw new Error(`SSE delivered ${received} bytes of output of ${size}`);
      const exit = payload.last.get('exit');
      if (exit === undefined || JSON.parse(exit).exitCode !== 0) throw new Error(`cat ended with ${exit}`);
      return seconds;
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
