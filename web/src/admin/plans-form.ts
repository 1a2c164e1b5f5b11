import { PLAN_LIMIT_NAMES, type Plan, type PlanLimits } from '@keel/contract/plans';

/** How each limit reads on the page, and the unit its number counts. */
export const LIMIT_WORDS: Record<keyof PlanLimits, { label: string; unit: string }> = {
  apiRequestsPerMinute: { label: 'API requests a minute', unit: 'requests a minute, all people together' },
  concurrentWorkspaces: { label: 'Workspaces at once', unit: 'running, starting or waiting for a place' },
  concurrentCommands: { label: 'Commands at once', unit: 'running across all workspaces' },
  aiTokensPerDay: { label: 'AI tokens a day', unit: 'prompt and answer tokens per UTC day' },
};

export function formatLimit(value: number | null): string {
  return value === null ? 'Unlimited' : value.toLocaleString('en');
}

/** The form's text for a limit: empty means unlimited. */
export function limitText(value: number | null): string {
  return value === null ? '' : String(value);
}

export type PlanDraftResult =
  | { ok: true; plan: Plan }
  | { ok: false; message: string; fields: Partial<Record<string, string>> };

/**
 * The plan the form describes, checked as the edge will check it: a name, and each limit empty
 * (unlimited) or a whole number from 1 up to the install's maximum, where it has one.
 */
export function planFromForm(
  name: string,
  texts: Record<keyof PlanLimits, string>,
  maximums: PlanLimits,
): PlanDraftResult {
  const fields: Partial<Record<string, string>> = {};
  const trimmedName = name.trim();
  if (trimmedName === '') fields.name = 'Give the plan a name.';
  else if (trimmedName.length > 80) fields.name = 'At most 80 characters.';
  const limits = {} as Record<keyof PlanLimits, number | null>;
  for (const key of PLAN_LIMIT_NAMES) {
    const text = texts[key].trim().replaceAll(',', '');
    const max = maximums[key];
    if (text === '') {
      limits[key] = null;
      if (max !== null) fields[key] = `The install allows at most ${formatLimit(max)}: enter a number.`;
      continue;
    }
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
      fields[key] = 'A whole number from 1, or empty for unlimited.';
    } else if (max !== null && value > max) {
      fields[key] = `The install allows at most ${formatLimit(max)}.`;
    }
    limits[key] = value;
  }
  if (Object.keys(fields).length > 0) return { ok: false, message: 'Check the marked fields.', fields };
  return { ok: true, plan: { name: trimmedName, limits } };
}
