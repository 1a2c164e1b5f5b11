import { freePort } from '../tests/harness/ports.ts';
import { connectTerminal } from '../tests/terminal/terminal-client.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { median, round, summarize, timeEach } from './stats.ts';
import { type BenchSystem, startSystem } from './system.ts';
import { keystrokeEchoes } from './terminal-echo.ts';

// Enough rounds and reads that the median of the rounds' ratios is steady: with 10 rounds of 100
// reads on a 2-core host it moved between 0.97× and 1.06× from run to run with nothing changed.
const ROUNDS = count(25, 2);
const READS_PER_ROUND = count(200, 20);
/** Even: each round types a character and erases it as many times, ending at an empty prompt. */
const KEYS_PER_ROUND = count(100, 20);
const TARGET = 1.05;
/**
 * `KEEL_BENCH_METRICS_CONTROL=1`: both systems with metrics off, to see how far two equal systems
 * side by side differ on this host (the figure's noise floor).
 */
const control = process.env.KEEL_BENCH_METRICS_CONTROL === '1';
/**
 * `KEEL_BENCH_METRICS_EDGE_STATS=1`: the per-minute request figures in Redis alone (on by
 * default), off (KEEL_EDGE_STATS=false) vs on, neither with a Prometheus port.
 */
const edgeStats = process.env.KEEL_BENCH_METRICS_EDGE_STATS === '1';

/** Samples per round, for the system with metrics off and the one with them on. */
interface Rounds {
  off: number[][];
  on: number[][];
}

/**
 * What metrics cost on the hot paths: the same 2 KB file read and keystroke echo as the other
 * benches, through two systems side by side on the same host and Redis, one with metrics off,
 * one with them on (the edge's KEEL_METRICS_PORT and the runner's KEEL_RUNNER_METRICS_PORT),
 * measured in alternating rounds (which system goes first alternates too) so that a slow
 * moment of the host falls on both. The "on" system is scraped at the end, so the figure is
 * known to be of a system that recorded the requests.
 */
export async function benchMetricsCost(): Promise<Figure[]> {
  const [edgePort, runnerPort] = [await freePort(), await freePort()];
  const off = await startSystem('process', {
    edgeEnv: { KEEL_REDIS_PREFIX: 'keel-bench-off:', ...(edgeStats ? { KEEL_EDGE_STATS: 'false' } : {}) },
  });
  let on: BenchSystem | undefined;
  try {
    on = await startSystem(
      'process',
      control || edgeStats
        ? { edgeEnv: { KEEL_REDIS_PREFIX: 'keel-bench-on:' } }
        : {
            edgeEnv: { KEEL_REDIS_PREFIX: 'keel-bench-on:', KEEL_METRICS_PORT: String(edgePort) },
            runnerEnv: { KEEL_RUNNER_METRICS_PORT: String(runnerPort) },
          },
    );
    const content = 'x'.repeat(2048);
    const setUp = async (sys: BenchSystem) => {
      const id = await sys.workspace('bench-metrics');
      await sys.admin.request(
        'PUT',
        `/api/workspaces/${id}/files?path=small.txt`,
        { content },
        { bearer: true },
      );
      const headers = { authorization: `Bearer ${sys.admin.accessToken}` };
      const read = async () => {
        const res = await sys.http(`/api/workspaces/${id}/files?path=small.txt`, { headers });
        const body = (await res.json()) as { content: string };
        if (body.content.length !== content.length) throw new Error('short read');
      };
      const term = await connectTerminal(sys.base, sys.admin, id);
      await term.waitForOutput('$ ');
      return { read, echoes: keystrokeEchoes(term), term };
    };
    const rigs = { off: await setUp(off), on: await setUp(on) };
    const reads: Rounds = { off: [], on: [] };
    const echoes: Rounds = { off: [], on: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const which of order) reads[which].push(await timeEach(READS_PER_ROUND, rigs[which].read, 10));
      for (const which of order) echoes[which].push(await rigs[which].echoes(KEYS_PER_ROUND, 10));
    }
    await Promise.all([rigs.off.term.close(), rigs.on.term.close()]);

    // The "on" system did record: its files route is counted (and the runner's, once it has metrics).
    const scraped =
      control || edgeStats ? '' : await (await fetch(`http://127.0.0.1:${edgePort}/metrics`)).text();
    if (
      !control &&
      !edgeStats &&
      !/keel_http_requests_total\{route="\/api\/workspaces\/:id\/files",method="GET",status="200"\} \d+/.test(
        scraped,
      )
    )
      throw new Error('the edge with metrics on recorded no file reads');
    const runnerServes = await fetch(`http://127.0.0.1:${runnerPort}/metrics`).then(
      (r) => r.ok,
      () => false,
    );
    const what = control
      ? 'control: both off'
      : edgeStats
        ? 'request figures in Redis only'
        : runnerServes
          ? 'edge and runner'
          : 'edge (runner: no metrics port)';

    const row = (name: string, rounds: Rounds): Figure => {
      const a = summarize(rounds.off.flat());
      const b = summarize(rounds.on.flat());
      // Each round's p50 on over its p50 off; the figure is their median, so one slow moment of
      // a shared host moves one round, not the figure.
      const ratios = rounds.on.map((on, i) => summarize(on).p50 / summarize(rounds.off[i]!).p50);
      const ratio = median(ratios);
      return {
        name: `${name}, metrics on vs off (${what}), p50 (n=${b.n} each)`,
        keel: `${round(b.p50, 3)} ms on (p99 ${round(b.p99)})`,
        baseline: `${round(a.p50, 3)} ms off (p99 ${round(a.p99)}), alternating rounds`,
        ratio: `${round(ratio, 3)}× (median of rounds: ${ratios.map((x) => round(x)).join(', ')})`,
        target: `≤ ${TARGET}×`,
        pass: ratio <= TARGET,
      };
    };
    return [row('2 KB file read', reads), row('terminal keystroke → echo', echoes)];
  } finally {
    await Promise.all([off.stop(), on?.stop()]);
  }
}
