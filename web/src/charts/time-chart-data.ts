/** The parts of a time chart that need no canvas: its axes, its table and how values read. */

/** The units of the series, in order of first use: one axis (uPlot scale) each. */
export function scalesOf(series: ReadonlyArray<{ unit: string }>): string[] {
  return [...new Set(series.map((s) => s.unit))];
}

/** A value as the legend and the table show it: rounded to what a reader needs, `—` for a gap. */
export function formatValue(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const digits = Math.abs(v) >= 100 || Number.isInteger(v) ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${unit}`;
}

/** `HH:MM` of an epoch-milliseconds time, in UTC (the figures are per UTC minute). */
export function utcTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** The chart's figures as table rows: the time, then each series' value at it. */
export function chartRows(
  x: ReadonlyArray<number>,
  series: ReadonlyArray<{ unit: string; values: ReadonlyArray<number | null> }>,
): Array<{ time: string; values: string[] }> {
  return x.map((ms, i) => ({
    time: utcTime(ms),
    values: series.map((s) => formatValue(s.values[i], s.unit)),
  }));
}
