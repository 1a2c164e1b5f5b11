import type { Counter, Histogram } from 'prom-client';

/**
 * Counts and histograms for the paths taken on every request and every Redis or database call,
 * kept as plain numbers and handed to their prom-client metric when Prometheus scrapes.
 * prom-client's own label children check and hash their labels on every call (measured here:
 * about 2 µs per request for a counter and a histogram); these cost a few additions.
 */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: Record<string, string>) {}
}

export class HistogramSeries {
  count = 0;
  sum = 0;
  /** Observations per bucket (not cumulative), by the bucket's index in `bounds`; above the last: only `count`. */
  readonly buckets: number[];
  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.buckets = new Array<number>(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.count++;
    this.sum += value;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }
}

/** Sets `counter` to the series' values (at scrape time). */
export function exportCounter(counter: Counter, series: Iterable<CounterSeries>): void {
  counter.reset();
  for (const s of series) counter.inc(s.labels, s.value);
}

/**
 * Sets `histogram` to the series' values (at scrape time). prom-client has no call that sets a
 * histogram's state, so its per-label map is written as its own `observe` would leave it
 * (prom-client 15: `hashMap` of `{ labels, bucketValues (per bound, not cumulative), sum, count }`);
 * tests/metrics checks the scraped buckets, so a change there fails a test, not a dashboard.
 */
export function exportHistogram(
  histogram: Histogram,
  bounds: readonly number[],
  series: Iterable<HistogramSeries>,
): void {
  const map: Record<string, unknown> = {};
  let i = 0;
  for (const s of series) {
    const bucketValues: Record<number, number> = {};
    bounds.forEach((bound, j) => {
      bucketValues[bound] = s.buckets[j]!;
    });
    map[String(i++)] = { labels: s.labels, bucketValues, sum: s.sum, count: s.count };
  }
  (histogram as unknown as { hashMap: Record<string, unknown> }).hashMap = map;
}
