import { Labels } from '@keel/contract/runners';

/** One key=value row of a label editor, as typed. */
export interface LabelRow {
  key: string;
  value: string;
}

export function rowsFromLabels(labels: Record<string, string>): LabelRow[] {
  return Object.entries(labels).map(([key, value]) => ({ key, value }));
}

/**
 * The rows as labels, checked by the contract's own schema: empty rows are dropped, a key given
 * twice or a key the API would refuse is named, so the person sees it before anything is sent.
 */
export function labelsFromRows(
  rows: readonly LabelRow[],
): { ok: true; labels: Record<string, string> } | { ok: false; message: string } {
  const labels: Record<string, string> = {};
  for (const row of rows) {
    const key = row.key.trim();
    const value = row.value.trim();
    if (key === '' && value === '') continue;
    if (key === '') return { ok: false, message: `A label with the value “${value}” has no key.` };
    if (key in labels) return { ok: false, message: `The key “${key}” is given twice.` };
    labels[key] = value;
  }
  const parsed = Labels.safeParse(labels);
  if (!parsed.success)
    return {
      ok: false,
      message: `Label keys are lower-case letters, digits, . _ - and / (${parsed.error.issues[0]?.message ?? 'invalid'}); values are up to 128 characters; at most 32 labels.`,
    };
  return { ok: true, labels: parsed.data };
}

export function formatPolicyLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k}=${v}`).join(', ');
}
