import { round, summarize } from '../stats.ts';

/** p50/p95/p99 of a sample (ms), rounded to 0.1 ms; zeros for an empty one. */
export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
}

export function percentiles(samples: number[]): Percentiles {
  if (samples.length === 0) return { n: 0, p50: 0, p95: 0, p99: 0 };
  const s = summarize(samples);
  return { n: s.n, p50: round(s.p50, 1), p95: round(s.p95, 1), p99: round(s.p99, 1) };
}
