import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../tests/harness/ports.ts';
import { spawnService } from '../tests/harness/processes.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { median, round } from './stats.ts';
import { type BenchSystem, startSystem } from './system.ts';

const STREAMS = count(1000, 100);
/** Open-then-measure pairs: garbage and allocator noise move one pair, not the median of several. */
const PAIRS = count(5, 3);
const RUNNER_SETTLE_MS = count(8_000, 2_000);
/** After opening a batch: long enough for the edge to finish taking the streams up. */
const SETTLE_MS = 2_000;
/** Sockets the edge may open or close on its own between two counts (pools, a runner's call). */
const SOCKET_SLACK = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`cannot read the RSS of process ${pid}`);
  return Number(m[1]);
}

/** Sockets the process holds: an open stream holds at least its client's. */
function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // Closed between the listing and the look.
    }
  }
  return n;
}

/**
 * SSE streams of one execution, each read to its end, so that a stream the edge closes is
 * noticed instead of counted as open.
 */
class StreamBatch {
  private readonly controllers: AbortController[] = [];
  private closedByEdge = 0;

  constructor(
    private readonly sys: BenchSystem,
    private readonly url: string,
  ) {}

  async open(n: number): Promise<void> {
    const headers = { authorization: `Bearer ${this.sys.admin.accessToken}` };
    for (let i = 0; i < n; i++) {
      const ac = new AbortController();
      this.controllers.push(ac);
      const res = await this.sys.http(this.url, { headers, signal: ac.signal });
      if (res.status !== 200 || !res.body) throw new Error(`stream ${i}: HTTP ${res.status}`);
      void this.drain(res.body, ac.signal);
    }
  }

  private async drain(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
    try {
      const reader = body.getReader();
      while (!(await reader.read()).done) {}
    } catch {
      // Aborted, or cut off: told apart below.
    }
    if (!signal.aborted) this.closedByEdge++;
  }

  /** Throws unless every stream of the batch is still open. */
  assertOpen(when: string): void {
    if (this.closedByEdge > 0) {
      throw new Error(`${this.closedByEdge} of ${this.controllers.length} streams were closed ${when}`);
    }
  }

  close(): void {
    for (const ac of this.controllers) ac.abort();
  }
}

/** An idle runner's RSS, and the edge's memory per open SSE output stream. */
export async function benchMemory(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-memory-'));
  const report = join(dir, 'edge-memory.json');
  const sys = await startSystem('process', {
    edgeNodeArgs: ['--expose-gc', '--import', new URL('./edge-memory-probe.mjs', import.meta.url).href],
    edgeEnv: { KEEL_BENCH_MEMORY_FILE: report },
  });
  const edgePid = sys.edge.child.pid!;
  /** The edge's heap in use plus its memory outside the heap, after a full collection. */
  const edgeBytes = async () => {
    rmSync(report, { force: true });
    process.kill(edgePid, 'SIGUSR2');
    await waitFor('the edge to report its memory', async () => existsSync(report) || undefined, 10_000, 20);
    const { heapUsed, external } = JSON.parse(readFileSync(report, 'utf8'));
    if (!(heapUsed > 0 && external >= 0))
      throw new Error(`the edge reported ${readFileSync(report, 'utf8')}`);
    return (heapUsed as number) + (external as number);
  };
  const bare = spawnService(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], process.env);
  const batches: StreamBatch[] = [];
  const batch = (url: string) => {
    const b = new StreamBatch(sys, url);
    batches.push(b);
    return b;
  };
  try {
    const id = await sys.workspace('mem');
    // Let the runner settle into idle before reading its memory.
    await sleep(RUNNER_SETTLE_MS);
    const runnerRss = rssKb(sys.runner.child.pid!);
    const bareRss = rssKb(bare.child.pid!);

    const run = await sys.admin.request(
      'POST',
      `/api/workspaces/${id}/execute`,
      { command: ['sleep', '600'] },
      { bearer: true },
    );
    if (run.status !== 202) throw new Error(`execute: HTTP ${run.status} ${JSON.stringify(run.body)}`);
    const url = `/api/workspaces/${id}/executions/${run.body.executionId}/events`;
    // One stream stays open throughout, and one batch comes and goes before the pairs: what
    // the first streams cost once (modules, pools, compiled code) stays out of the figure.
    const held = batch(url);
    await held.open(1);
    /** Opens a batch and, once it has been read, closes it and waits until the edge has let it go. */
    const cycle = async (read?: () => Promise<void>) => {
      const socketsBefore = socketCount(edgePid);
      const streams = batch(url);
      await streams.open(STREAMS);
      await sleep(SETTLE_MS);
      await read?.();
      // Checked after the reading: open now, they were open when it was taken.
      streams.assertOpen('before the edge memory was read');
      held.assertOpen('before the edge memory was read');
      const sockets = socketCount(edgePid) - socketsBefore;
      if (sockets < STREAMS) throw new Error(`the edge holds ${sockets} more sockets for ${STREAMS} streams`);
      streams.close();
      await waitFor(
        'the edge to close the streams',
        async () => socketCount(edgePid) <= socketsBefore + SOCKET_SLACK || undefined,
        30_000,
      );
    };
    await cycle();

    const grown: number[] = [];
    const befores: number[] = [];
    for (let p = 0; p < PAIRS; p++) {
      const before = await edgeBytes();
      await cycle(async () => {
        grown.push((await edgeBytes()) - before);
        befores.push(before);
      });
    }
    const perStream = median(grown) / STREAMS;
    // Open streams hold something: a figure of nothing or less is a broken measurement.
    if (perStream <= 0) {
      throw new Error(`edge memory per stream measured ${perStream} bytes (pairs: ${grown.join(', ')})`);
    }
    const kb = (bytes: number) => round(bytes / 1024, 1);
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
        name: `edge memory per open output stream (${STREAMS} open, median of ${PAIRS})`,
        keel: `${kb(perStream)} KB`,
        baseline: `${round(median(befores) / 2 ** 20, 1)} MB edge heap + external before`,
        ratio: `+${round(median(grown) / 2 ** 20, 1)} MB (each pair: ${grown.map((g) => kb(g / STREAMS)).join(', ')} KB)`,
        target: '≤ 100 KB each',
        pass: perStream / 1024 <= 100,
      },
    ];
  } finally {
    for (const b of batches) b.close();
    await Promise.all([sys.stop(), bare.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
