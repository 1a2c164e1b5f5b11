/**
 * Keel's benchmarks. Every figure is measured against a baseline taken in the same run on
 * the same services; a full run writes them, with the date, commit and machine, into the
 * measured part of docs/PERFORMANCE.md. It exits 1 when a bench fails or a figure misses its
 * target. Run with `bench/run` (it starts Redis, and Docker when available).
 */
import { stopTestInfra } from '../tests/harness/infra.ts';
import { startRedisServer } from '../tests/harness/redis-server.ts';
import { benchAiLatency } from './ai-latency.ts';
import { benchBundleSize } from './bundle-size.ts';
import { benchExecThroughput } from './exec-throughput.ts';
import type { Figure } from './figure.ts';
import { benchFileRead } from './file-read.ts';
import { benchJobRoundTrip } from './job-round-trip.ts';
import { benchLsp } from './lsp.ts';
import { benchMemory } from './memory.ts';
import { benchMetricsCost } from './metrics-cost.ts';
import { writeMeasuredFigures } from './performance-doc.ts';
import { benchPlacement } from './placement.ts';
import { benchPreview } from './preview.ts';
import { benchQuickOpen } from './quick-open.ts';
import { benchRelocation } from './relocation.ts';
import { benchRemoteDocker } from './remote-docker.ts';
import { benchRequestChecks } from './request-checks.ts';
import { runContext } from './run-context.ts';
import { benchScaleRamp } from './scale/ramp-bench.ts';
import { smokeRun } from './scale.ts';
import { benchSnapshot } from './snapshot.ts';
import { benchTerminalEcho } from './terminal-echo.ts';
import { benchWorkspaceList } from './workspace-list.ts';
import { benchWorkspaceStart } from './workspace-start.ts';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.some((o) => name.includes(o));

const redis = await startRedisServer();
process.env.KEEL_TEST_REDIS_URL = redis.url;
const figures: Figure[] = [];
/** Benches that threw: the others still run, and the run fails. */
const failed: string[] = [];
try {
  const section = async (name: string, fn: () => Promise<Figure[]>) => {
    if (!want(name)) return;
    const t = performance.now();
    console.error(`bench: ${name}…`);
    let got: Figure[];
    try {
      got = await fn();
    } catch (err) {
      failed.push(name);
      console.error(`bench: ${name} FAILED:`, err);
      return;
    }
    figures.push(...got);
    console.error(
      `bench: ${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s: ${got.map((f) => f.keel).join(', ')}`,
    );
  };
  await section('job', () => benchJobRoundTrip(redis.url));
  await section('file', benchFileRead);
  await section('start', benchWorkspaceStart);
  await section('ssh', benchRemoteDocker);
  await section('exec', benchExecThroughput);
  await section('memory', benchMemory);
  await section('terminal', benchTerminalEcho);
  await section('ai', benchAiLatency);
  await section('bundle', benchBundleSize);
  await section('placement', benchPlacement);
  await section('relocation', benchRelocation);
  await section('snapshot', benchSnapshot);
  await section('checks', benchRequestChecks);
  await section('list', benchWorkspaceList);
  await section('metrics', benchMetricsCost);
  await section('quick-open', benchQuickOpen);
  await section('preview', benchPreview);
  await section('lsp', benchLsp);
  // The scale ramp takes the machine for many minutes: only when named (`bench/run scale`).
  if (only.includes('scale')) await section('scale', benchScaleRamp);
} finally {
  await redis.stop();
}

const rows = figures.map(
  (f) =>
    `| ${f.name} | ${f.keel} | ${f.baseline} | ${f.ratio} | ${f.target} | ${f.pass === null ? '—' : f.pass ? 'yes' : '**no**'} |`,
);
const table = [
  '| what | Keel | baseline (same run) | ratio | target | met |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
].join('\n');
console.log(table);

if (only.length > 0 && figures.length === 0 && failed.length === 0) {
  console.error(`bench: no bench is named like ${only.join(', ')}`);
  await stopTestInfra();
  process.exit(1);
}
const missed = figures.filter((f) => f.pass === false).map((f) => f.name);
if (smokeRun) console.error('bench: a smoke run (KEEL_BENCH_SMOKE=1): small counts, figures not kept');
if (failed.length > 0) console.error(`bench: failed: ${failed.join(', ')}; docs/PERFORMANCE.md not written`);
if (missed.length > 0) console.error(`bench: target not met: ${missed.join('; ')}`);
// Only a full run of every bench stands for the code: a partial or small one is not recorded.
if (only.length === 0 && !smokeRun && failed.length === 0) {
  writeMeasuredFigures(
    `${root}docs/PERFORMANCE.md`,
    `Measured by \`bench/run\` ${runContext(root)}.

${table}`,
  );
}
// The benches' PostgreSQL and Redis (tests/harness) would outlive an exit without this.
await stopTestInfra();
process.exit(failed.length > 0 || missed.length > 0 ? 1 : 0);
