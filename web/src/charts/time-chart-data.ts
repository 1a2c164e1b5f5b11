/** The parts of a time chart that need no canvas: its axes, its table and how values read. */

/**
 * What one point of the chart stands for, and so how its time reads (all in UTC): a minute
 * (`HH:MM`), an hour (`YYYY-MM-DD HH:00`) or a day (`YYYY-MM-DD`).
 */
export type TimeLabel = 'minute' | 'hour' | 'day';

/** Seconds in one point of each kind: the finest step the x axis may tick at. */
const STEP_SECONDS: Record<TimeLabel, number> = { minute: 60, hour: 3600, day: 86_400 };

/**
 * uPlot's own time steps from a minute up (seconds): the x axis picks among those no finer than
 * a point, so a daily chart never ticks at noon and reads the same day twice.
 */
const TIME_INCRS = [
  60, 300, 600, 900, 1800, 3600, 7200, 10_800, 14_400, 21_600, 28_800, 43_200, 86_400, 172_800, 259_200,
  345_600, 432_000, 518_400, 604_800, 691_200, 777_600, 864_000, 1_296_000, 2_592_000, 5_184_000, 7_776_000,
  10_368_000, 15_552_000, 31_536_000,
];

/** The x axis' steps for a chart of this kind of point. */
export function axisIncrs(label: TimeLabel): number[] {
  return TIME_INCRS.filter((s) => s >= STEP_SECONDS[label]);
}

/** Least CSS pixels between two x-axis ticks, so that the longer labels never overlap. */
export function axisSpace(label: TimeLabel): number {
  return label === 'minute' ? 50 : label === 'day' ? 90 : 130;
}

/** The heading of the table's time column. */
export function timeHeading(label: TimeLabel): string {
  return label === 'minute' ? 'Time (UTC)' : label === 'hour' ? 'Hour (UTC)' : 'Day (UTC)';
}

/** The units of the series, in order of first use: one axis (uPlot scale) each. */
export function scalesOf(series: ReadonlyArray<{ unit: string }>): string[] {
  return [...new Set(series.map((s) => s.unit))];
}

/**
 * A value as the legend and the table show it: rounded to what a reader needs (or as `format`
 * writes it), then its unit; `—` for a gap.
 */
export function formatValue(
  v: number | null | undefined,
  unit: string,
  format?: (n: number) => string,
): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (format) return `${format(v)} ${unit}`;
  const digits = Math.abs(v) >= 100 || Number.isInteger(v) ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${unit}`;
}

/** An epoch-milliseconds time as a point of this kind reads, in UTC (the figures are per UTC minute, hour or day). */
export function timeLabel(ms: number, label: TimeLabel = 'minute'): string {
  const iso = new Date(ms).toISOString();
  if (label === 'day') return iso.slice(0, 10);
  if (label === 'hour') return `${iso.slice(0, 10)} ${iso.slice(11, 13)}:00`;
  return iso.slice(11, 16);
}

/**
 * The indices of values with no value beside them (a gap or the edge on both sides): a line
 * needs two points, so these would not show on the canvas unless drawn as points.
 */
export function lonelyPoints(values: ArrayLike<number | null | undefined>): number[] {
  const present = (i: number) => i >= 0 && i < values.length && values[i] !== null && values[i] !== undefined;
  const lonely: number[] = [];
  for (let i = 0; i < values.length; i++)
    if (present(i) && !present(i - 1) && !present(i + 1)) lonely.push(i);
  return lonely;
}

/** The chart's figures as table rows: the time, then each series' value at it. */
export function chartRows(
  x: ReadonlyArray<number>,
  series: ReadonlyArray<{
    unit: string;
    values: ReadonlyArray<number | null>;
    format?: (n: number) => string;
  }>,
  label: TimeLabel = 'minute',
): Array<{ time: string; values: string[] }> {
  return x.map((ms, i) => ({
    time: timeLabel(ms, label),
    values: series.map((s) => formatValue(s.values[i], s.unit, s.format)),
  }));
}
