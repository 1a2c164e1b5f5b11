import { SnapshotStoreSettings, UpdateSnapshotStoreRequest } from '@keel/contract/snapshots';
import type { SnapshotStoreChange } from '../api/fleet-api.ts';

export type SnapshotStoreField =
  | 'path'
  | 'endpoint'
  | 'region'
  | 'bucket'
  | 'prefix'
  | 'accessKeyId'
  | 'secretAccessKey'
  | 'intervalMinutes'
  | 'retention';

export const SNAPSHOT_STORE_FIELDS: readonly SnapshotStoreField[] = [
  'path',
  'endpoint',
  'region',
  'bucket',
  'prefix',
  'accessKeyId',
  'secretAccessKey',
  'intervalMinutes',
  'retention',
];

export interface SnapshotStoreInput {
  kind: 'folder' | 's3';
  path: string;
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  intervalMinutes: string;
  retention: string;
  onStop: boolean;
  /** Whether a secret is sealed already: then an empty secret keeps it. */
  hasSecret: boolean;
}

/**
 * The form as the request the API takes, checked by the contract's schemas first, so each wrong
 * field is marked before anything is sent. A new S3 store needs its secret; a kept one does not.
 */
export function buildSnapshotStoreRequest(
  input: SnapshotStoreInput,
):
  | { ok: true; request: SnapshotStoreChange }
  | { ok: false; fields: Partial<Record<SnapshotStoreField, string>>; message: string } {
  const fields: Partial<Record<SnapshotStoreField, string>> = {};
  const store =
    input.kind === 'folder'
      ? { kind: 'folder' as const, path: input.path.trim() === '' ? null : input.path.trim() }
      : {
          kind: 's3' as const,
          endpoint: input.endpoint.trim(),
          region: input.region.trim() || 'us-east-1',
          bucket: input.bucket.trim(),
          prefix: input.prefix.trim(),
          forcePathStyle: input.forcePathStyle,
          accessKeyId: input.accessKeyId.trim(),
        };
  const parsedStore = SnapshotStoreSettings.safeParse(store);
  if (!parsedStore.success)
    for (const issue of parsedStore.error.issues) {
      const field = String(issue.path[0] ?? 'path') as SnapshotStoreField;
      fields[field] ??= issue.message;
    }
  const secret = input.secretAccessKey;
  if (input.kind === 's3' && secret === '' && !input.hasSecret)
    fields.secretAccessKey = 'A new S3 store needs its secret access key.';
  const whole = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN);
  const request = {
    store,
    ...(input.kind === 's3' && secret !== '' ? { secretAccessKey: secret } : {}),
    intervalMinutes: whole(input.intervalMinutes),
    retention: whole(input.retention),
    onStop: input.onStop,
  };
  const parsed = UpdateSnapshotStoreRequest.safeParse(request);
  if (!parsed.success)
    for (const issue of parsed.error.issues) {
      const top = String(issue.path[0] ?? '');
      if (top === 'intervalMinutes') fields.intervalMinutes ??= 'Whole minutes, 0 (never) to 10080 (a week).';
      else if (top === 'retention') fields.retention ??= 'Between 1 and 1000 snapshots.';
      else if (top === 'secretAccessKey') fields.secretAccessKey ??= 'Up to 512 characters.';
      else if (top === 'store') {
        const field = String(issue.path[1] ?? 'path') as SnapshotStoreField;
        fields[field] ??= issue.message;
      }
    }
  if (Object.keys(fields).length > 0) return { ok: false, fields, message: 'Check the highlighted fields.' };
  return { ok: true, request: request as SnapshotStoreChange };
}
