/** The periods the Usage page offers, in days back from now. */
export const USAGE_PERIODS = [
  { days: 7, label: 'Last 7 days' },
  { days: 30, label: 'Last 30 days' },
  { days: 90, label: 'Last 90 days' },
  { days: 365, label: 'Last 365 days' },
] as const;

const DAY_MS = 24 * 3600 * 1000;

/** The usage API's window for a period ending now (the API caps windows at 366 days). */
export function usageWindow(days: number, now: Date): { since: string; until: string } {
  const span = Math.min(Math.max(1, Math.round(days)), 366);
  return { since: new Date(now.getTime() - span * DAY_MS).toISOString(), until: now.toISOString() };
}

export interface DayBar {
  day: string;
  tokens: number;
  /** The bar's height as a share of the tallest, 0..1. */
  share: number;
}

/**
 * Every UTC day of the window with its tokens (days without calls are 0, so gaps show), scaled
 * against the busiest day for the chart.
 */
export function dayBars(
  days: ReadonlyArray<{ day: string; promptTokens: number; completionTokens: number }>,
  since: string,
  until: string,
): DayBar[] {
  const byDay = new Map(days.map((d) => [d.day, d.promptTokens + d.completionTokens]));
  const out: DayBar[] = [];
  const start = Date.parse(`${since.slice(0, 10)}T00:00:00Z`);
  const end = Date.parse(until);
  for (let t = start; t < end && out.length < 367; t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    out.push({ day, tokens: byDay.get(day) ?? 0, share: 0 });
  }
  const max = Math.max(0, ...out.map((b) => b.tokens));
  for (const b of out) b.share = max === 0 ? 0 : b.tokens / max;
  return out;
}

/** A token count as people read it: 950, 12.3k, 4.56M. */
export function formatTokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 2 : 1)}M`;
}

/** Hourly buckets are allowed for windows of at most this many days (the API's own cap). */
export const HOURLY_MAX_DAYS = 31;

export type Granularity = 'hour' | 'day';

/** The report's filters as the page holds them; empty strings mean "everyone". */
export interface UsageFilters {
  days: number;
  granularity: Granularity;
  userId?: string | undefined;
  team?: string | undefined;
  workspaceId?: string | undefined;
}

/** Hours only where the window allows them; a longer window falls back to days rather than a refusal. */
export function effectiveGranularity(days: number, granularity: Granularity): Granularity {
  return granularity === 'hour' && days <= HOURLY_MAX_DAYS ? 'hour' : 'day';
}

/** The `GET /api/admin/usage` query for the page's filters, the window ending `now`; blank filters are left out. */
export function usageQuery(
  filters: UsageFilters,
  now: Date,
): {
  since: string;
  until: string;
  granularity: Granularity;
  userId?: string;
  team?: string;
  workspaceId?: string;
} {
  const trimmed = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
  const userId = trimmed(filters.userId);
  const team = trimmed(filters.team);
  const workspaceId = trimmed(filters.workspaceId);
  return {
    ...usageWindow(filters.days, now),
    granularity: effectiveGranularity(filters.days, filters.granularity),
    ...(userId ? { userId } : {}),
    ...(team ? { team } : {}),
    ...(workspaceId ? { workspaceId } : {}),
  };
}

/** The same query as a CSV download's address: `path?…&format=csv`, values URL-encoded, absent ones left out. */
export function csvHref(path: string, query: Readonly<Record<string, string | undefined>>): string {
  const pairs = Object.entries({ ...query, format: 'csv' })
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return `${path}?${pairs.join('&')}`;
}

const HOUR_MS = 3600 * 1000;
/** At most this many points per series: a year of days, or a month of hours, with room to spare. */
const MAX_POINTS = 800;

/** The start (ms) of the UTC hour or day that holds `t`. */
function bucketStart(t: number, granularity: Granularity): number {
  const step = granularity === 'hour' ? HOUR_MS : DAY_MS;
  return Math.floor(t / step) * step;
}

/**
 * A chart's x axis and one series per picked figure: every hour or day of the window (buckets the
 * report left out, having no use, are 0, so gaps show), x in Unix seconds as uPlot takes it.
 */
export function bucketSeries<B extends { start: string }>(
  buckets: ReadonlyArray<B>,
  window: { since: string; until: string; granularity: Granularity },
  picks: ReadonlyArray<(bucket: B) => number>,
): { xs: number[]; series: number[][] } {
  const step = window.granularity === 'hour' ? HOUR_MS : DAY_MS;
  const byStart = new Map(buckets.map((b) => [bucketStart(Date.parse(b.start), window.granularity), b]));
  const xs: number[] = [];
  const series: number[][] = picks.map(() => []);
  const end = Date.parse(window.until);
  for (let t = bucketStart(Date.parse(window.since), window.granularity); t < end; t += step) {
    if (xs.length >= MAX_POINTS) break;
    xs.push(t / 1000);
    const bucket = byStart.get(t);
    for (const [i, pick] of picks.entries()) series[i]?.push(bucket ? pick(bucket) : 0);
  }
  return { xs, series };
}

/**
 * AI figures per UTC day of the window: tokens (0 on quiet days) and the mean latencies (null on
 * quiet days, so a line breaks there instead of dropping to zero).
 */
export function aiDaySeries(
  days: ReadonlyArray<{
    day: string;
    promptTokens: number;
    completionTokens: number;
    meanFirstTokenMs: number | null;
    meanLatencyMs: number | null;
  }>,
  since: string,
  until: string,
): {
  xs: number[];
  tokens: number[];
  firstTokenMs: Array<number | null>;
  latencyMs: Array<number | null>;
} {
  const byDay = new Map(days.map((d) => [d.day, d]));
  const out = {
    xs: [] as number[],
    tokens: [] as number[],
    firstTokenMs: [] as Array<number | null>,
    latencyMs: [] as Array<number | null>,
  };
  const end = Date.parse(until);
  for (let t = bucketStart(Date.parse(since), 'day'); t < end && out.xs.length < MAX_POINTS; t += DAY_MS) {
    const d = byDay.get(new Date(t).toISOString().slice(0, 10));
    out.xs.push(t / 1000);
    out.tokens.push(d ? d.promptTokens + d.completionTokens : 0);
    out.firstTokenMs.push(d?.meanFirstTokenMs ?? null);
    out.latencyMs.push(d?.meanLatencyMs ?? null);
  }
  return out;
}

export interface Ranked {
  key: string;
  label: string;
  value: number;
  /** The value as a share of the largest, 0..1, for a bar's length. */
  share: number;
}

/** The `limit` largest rows by `value`, largest first (ties by label), rows of 0 left out. */
export function ranking<T>(
  rows: ReadonlyArray<T>,
  describe: (row: T) => { key: string; label: string; value: number },
  limit = 10,
): Ranked[] {
  const ranked = rows
    .map(describe)
    .filter((r) => r.value > 0)
    .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label))
    .slice(0, limit);
  const max = ranked[0]?.value ?? 0;
  return ranked.map((r) => ({ ...r, share: max === 0 ? 0 : r.value / max }));
}

/** CPU-seconds (or running seconds) as hours: 0, 0.02, 1.5, 1,234. */
export function formatHours(seconds: number): string {
  return formatAmount(seconds / 3600);
}

/** A non-negative amount with the precision its size deserves, grouped by thousands. */
export function formatAmount(n: number): string {
  if (n === 0) return '0';
  if (n < 0.01) return '<0.01';
  const digits = n < 10 ? 2 : n < 100 ? 1 : 0;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
