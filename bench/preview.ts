import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { waitFor } from '../tests/harness/ports.ts';
import { WORKSPACE_SERVER } from '../tests/preview/workspace-server.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { median, round, summarize } from './stats.ts';
import { startSystem } from './system.ts';

const N = count(1000, 100);
const WARMUP = count(100, 20);
const BIG = count(128, 16) * 1024 * 1024;
/**
 * Downloads alternate between Keel and the direct client, round by round, and the figure is the
 * median of the rounds' ratios: on a shared 2-core host one download of each, minutes apart, swung
 * the direct figure alone from 430 to 660 MiB/s.
 */
const ROUNDS = count(5, 3);
const PORT = 4400;

/**
 * The same client on both sides (Node's http with a keep-alive agent, one request at a time, then
 * one large download); run inside the workspace against 127.0.0.1:<port> for the direct figure.
 */
const CLIENT = `
const http = require('http');
const [base, n, warm, big, auth] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (path) => new Promise((resolve, reject) => {
  const req = http.get(base + path, { agent, headers: auth ? { authorization: auth } : {} }, (res) => {
    let bytes = 0;
    let head = '';
    res.on('data', (c) => { bytes += c.length; if (head.length < 300) head += c.toString(); });
    res.on('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(path + ': ' + res.statusCode + ' ' + head))));
  });
  req.on('error', reject);
});
(async () => {
  const times = [];
  let mbps = 0;
  for (let i = 0; i < Number(warm) + Number(n); i++) {
    const t = performance.now();
    await get('/hello');
    if (i >= Number(warm)) times.push(performance.now() - t);
  }
  if (Number(big) > 0) {
    await get('/big?n=' + (4 * 1024 * 1024));
    const t = performance.now();
    const bytes = await get('/big?n=' + big);
    const seconds = (performance.now() - t) / 1000;
    if (bytes !== Number(big)) throw new Error('short download: ' + bytes);
    mbps = bytes / seconds / 1048576;
  }
  console.log(JSON.stringify({ times, mbps }));
  agent.destroy();
})().catch((e) => { console.error(e); process.exit(1); });
`;

interface Run {
  times: number[];
  mbps: number;
}

/** CPU time (user + system, ms) a process has used so far, from /proc. */
function cpuMs(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS;
}
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function runClient(argv: string[], inContainer?: string): Run {
  const args = inContainer ? ['exec', inContainer, 'node', '-e', CLIENT, ...argv] : ['-e', CLIENT, ...argv];
  const out = execFileSync(inContainer ? 'docker' : process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.toString()) as Run;
}

/**
 * Preview proxy latency and throughput: browser-side client → edge → Redis → runner → its
 * connection into the workspace's network namespace → the server, against the same client run
 * inside the workspace on 127.0.0.1, in the same run (docker driver: the workspace is a container
 * with its own network namespace).
 */
export async function benchPreview(): Promise<Figure[]> {
  const sys = await startSystem('docker');
  try {
    const ws = await sys.workspace('bench-preview');
    const container = `keel-ws-${ws}`;
    const server = spawn('docker', ['exec', container, 'node', '-e', WORKSPACE_SERVER, String(PORT)], {
      stdio: 'ignore',
    });
    try {
      const auth = `Bearer ${sys.admin.accessToken}`;
      const through = `${sys.base}/w/${ws}/p/${PORT}`;
      const agent = new Agent({ keepAlive: true });
      await waitFor(
        'the preview answering',
        () =>
          new Promise<true | undefined>((resolve) => {
            const req = request(`${through}/hello`, { agent, headers: { authorization: auth } }, (res) => {
              res.resume();
              resolve(res.statusCode === 200 ? true : undefined);
            });
            req.on('error', () => resolve(undefined));
            req.end();
          }),
        30_000,
        200,
      );
      agent.destroy();
      const direct = runClient([`http://127.0.0.1:${PORT}`, String(N), String(WARMUP), '0'], container);
      // Keel's requests, then the downloads, with the edge's and the runner's CPU time for Keel's.
      const pids = [sys.edge.child.pid, sys.runner.child.pid];
      const cpu0 = pids.map(cpuMs);
      const keel = runClient([through, String(N), String(WARMUP), '0', auth]);
      const cpu1 = pids.map(cpuMs);
      const perRequest = cpu1.map((c, i) => (c - cpu0[i]!) / (N + WARMUP));
      const rounds: Array<{ keel: number; direct: number }> = [];
      const downloadCpu = pids.map(() => 0);
      for (let r = 0; r < ROUNDS; r++) {
        const directMbps = runClient([`http://127.0.0.1:${PORT}`, '0', '0', String(BIG)], container).mbps;
        const before = pids.map(cpuMs);
        const keelMbps = runClient([through, '0', '0', String(BIG), auth]).mbps;
        for (const [i, c] of pids.map(cpuMs).entries()) downloadCpu[i]! += c - before[i]!;
        rounds.push({ keel: keelMbps, direct: directMbps });
      }
      // Each Keel download also fetched 4 MiB first (the client's warm-up).
      const perMiB = downloadCpu.map((c) => c / (ROUNDS * (BIG / 1048576 + 4)));
      const ratios = rounds.map((r) => r.keel / r.direct);
      const ratio = median(ratios);
      keel.mbps = median(rounds.map((r) => r.keel));
      direct.mbps = median(rounds.map((r) => r.direct));
      const d = summarize(direct.times);
      const k = summarize(keel.times);
      return [
        {
          name: `preview GET round trip, p50 (n=${N})`,
          keel: `${round(k.p50)} ms`,
          baseline: `${round(d.p50)} ms (same client in the workspace, 127.0.0.1)`,
          ratio: `+${round(k.p50 - d.p50)} ms`,
          target: '≤ +3 ms',
          pass: k.p50 - d.p50 <= 3,
        },
        {
          name: `preview GET round trip, p99 (n=${N})`,
          keel: `${round(k.p99)} ms`,
          baseline: `${round(d.p99)} ms (same client in the workspace, 127.0.0.1)`,
          ratio: `+${round(k.p99 - d.p99)} ms`,
          target: 'reference',
          pass: null,
        },
        {
          name: `preview download throughput (${BIG / 1048576} MiB, median of ${ROUNDS} alternating rounds)`,
          keel: `${round(keel.mbps, 0)} MiB/s`,
          baseline: `${round(direct.mbps, 0)} MiB/s (same client in the workspace, 127.0.0.1)`,
          ratio: `${round(ratio)}× (rounds: ${ratios.map((x) => round(x)).join(', ')})`,
          target: '≥ 0.5×',
          pass: ratio >= 0.5,
        },
        {
          name: 'preview CPU per proxied GET, edge + runner',
          keel: `${round(perRequest[0]!)} + ${round(perRequest[1]!)} ms`,
          baseline: '—',
          ratio: '—',
          target: 'reference',
          pass: null,
        },
        {
          name: 'preview CPU per MiB downloaded, edge + runner',
          keel: `${round(perMiB[0]!)} + ${round(perMiB[1]!)} ms`,
          baseline: '—',
          ratio: '—',
          target: 'reference',
          pass: null,
        },
      ];
    } finally {
      server.kill();
    }
  } finally {
    // The admin's connection sat idle through the runs and the edge may have closed it: one
    // request that may fail takes the stale socket out of the pool before stop() uses it.
    await sys.admin.request('GET', '/api/workspaces', undefined, { bearer: true }).catch(() => {});
    await sys.stop();
  }
}
