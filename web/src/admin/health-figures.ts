import type { HealthMinute } from '@keel/contract/health';
import type { TimeSeries } from '../charts/time-chart.tsx';

/** A duration in seconds as people read it: `42 s`, `3 min`, `2 h 5 min`. */
export function formatAge(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A share (0 to 1) as a percentage with the precision an error rate needs. */
export function formatPercent(share: number): string {
  const pct = share * 100;
  return `${pct === 0 ? '0' : pct < 1 ? pct.toFixed(2) : pct.toFixed(1)} %`;
}

/** Counts by name, largest first (ties by name), without the empty ones. */
export function countsList(counts: Record<string, number>): Array<{ name: string; count: number }> {
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

/** The chart of the report's minutes: requests per minute and their p99, with a sentence that says the same. */
export function requestChart(minutes: readonly HealthMinute[]): {
  x: number[];
  series: TimeSeries[];
  summary: string;
} {
  const x = minutes.map((m) => Date.parse(m.start));
  const requests = minutes.map((m) => m.requests);
  const p99 = minutes.map((m) => m.p99Ms);
  const total = requests.reduce((a, b) => a + b, 0);
  const busiest = Math.max(0, ...requests);
  const worst = p99.reduce<number | null>((a, b) => (b === null ? a : a === null ? b : Math.max(a, b)), null);
  const summary =
    total === 0
      ? `No requests in the last ${minutes.length} minutes.`
      : `${total} requests in the last ${minutes.length} minutes, at most ${busiest} in a minute; ` +
        `the slowest minute's p99 was ${worst} ms.`;
  return {
    x,
    series: [
      { label: 'Requests', unit: 'req/min', values: requests },
      { label: 'p99 latency', unit: 'ms', values: p99 },
    ],
    summary,
  };
}
