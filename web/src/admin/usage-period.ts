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
