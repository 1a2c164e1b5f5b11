import { CreateRunnerTokenRequest } from '@keel/contract/runners';
import type { NewRunnerToken } from '../api/runners-api.ts';
import { parseLabels } from './server-form.ts';

export interface RunnerTokenFormValues {
  name: string;
  /** `key=value` pairs, by commas or lines: the labels the runner registers with. */
  labels: string;
  expiresInSeconds: string;
  maxUses: string;
}

export type RunnerTokenField = keyof RunnerTokenFormValues;

export const EXPIRY_CHOICES: ReadonlyArray<{ seconds: number; label: string }> = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 24 * 3600, label: '1 day' },
  { seconds: 7 * 24 * 3600, label: '7 days' },
  { seconds: 30 * 24 * 3600, label: '30 days' },
];

export type BuiltToken =
  | { ok: true; request: NewRunnerToken }
  | { ok: false; fields: Partial<Record<RunnerTokenField, string>>; message: string };

/** The token request from the form, checked by the contract's schema before it is sent. */
export function buildTokenRequest(values: RunnerTokenFormValues): BuiltToken {
  const fields: Partial<Record<RunnerTokenField, string>> = {};
  const labels = parseLabels(values.labels);
  if (typeof labels === 'string') fields.labels = labels;
  const name = values.name.trim();
  const request: NewRunnerToken = {
    ...(name === '' ? {} : { name }),
    ...(typeof labels === 'string' || Object.keys(labels).length === 0 ? {} : { labels }),
    expiresInSeconds: Number(values.expiresInSeconds),
    maxUses: values.maxUses.trim() === '' ? Number.NaN : Number(values.maxUses),
  };
  const parsed = CreateRunnerTokenRequest.safeParse(request);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? 'name') as RunnerTokenField;
      fields[field] ??=
        field === 'maxUses'
          ? 'Between 1 and 10,000 uses.'
          : field === 'name'
            ? 'Letters, digits, . _ - (up to 64).'
            : issue.message;
    }
  }
  if (Object.keys(fields).length > 0) return { ok: false, fields, message: 'Check the highlighted fields.' };
  return { ok: true, request };
}

/**
 * What to run on the new host (README "Runners"): the edge's address, the token, and the Redis the
 * runner reaches, which only the person installing it knows, so it stays a placeholder to fill in.
 */
export function runnerCommand(origin: string, token: string): string {
  return `KEEL_URL=${origin} KEEL_RUNNER_TOKEN=${token} REDIS_URL=redis://… npx keel-runner`;
}
