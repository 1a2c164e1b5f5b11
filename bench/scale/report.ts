import { LIMITS, type RampResult, type StepResult } from './scaletest.ts';

const kb = (bytes: number) => `${Math.round(bytes / 1024)} KB/s`;
const roles = (s: StepResult) =>
  s.processes.map((p) => `${p.role} ${p.cpuPercent}% / ${p.maxRssMiB} MiB`).join('; ') || '—';

/** One row per step of a ramp, for docs/PERFORMANCE.md. */
export function rampTable(ramp: RampResult): string {
  const rows = ramp.steps.map((s) => {
    const t = s.terminals;
    return [
      s.settings.people,
      `${kb(t.achievedBytesPerSecond)} of ${kb(t.targetBytesPerSecond)} (${Math.round(t.throughputRatio * 100)}%)`,
      `${t.disconnects} / ${t.reconnects}`,
      `${t.lost} / ${t.outOfOrder}`,
      `${t.echoMs.p50} / ${t.echoMs.p95} / ${t.echoMs.p99}`,
      `${s.ide.ms.read.p50} / ${s.ide.ms.read.p95} / ${s.ide.ms.read.p99}`,
      `${s.workspaceStartMs.p50} / ${s.workspaceStartMs.p99}`,
      roles(s),
      s.held ? 'yes' : `**no**: ${s.broke.join('; ')}`,
    ].join(' | ');
  });
  const verdict = ramp.largestHeld > 0 ? `Largest N that held: **${ramp.largestHeld}**.` : 'No step held.';
  const next = ramp.brokeAt
    ? ` At N=${ramp.brokeAt.people}: ${ramp.brokeAt.broke.join('; ')}.`
    : ' Every step held.';
  const limits = ramp.steps[0]?.settings.limits ?? LIMITS;
  return [
    '| N | terminal throughput (achieved of target) | disconnects / reconnects | bytes lost / out of order | echo p50 / p95 / p99 (ms) | file read under load p50 / p95 / p99 (ms) | workspace start p50 / p99 (ms) | CPU (of one core) / peak RSS | held |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r} |`),
    '',
    `${verdict}${next} A step holds when throughput ≥ ${limits.throughputRatio * 100}% of target, disconnects < ${limits.disconnectRatio * 100}%, p99 echo ≤ ${limits.echoP99Ms} ms, no byte is lost or out of order and no IDE operation fails.`,
  ].join('\n');
}
