import type { SnapshotReason, SnapshotStatus, SnapshotView } from '@keel/contract/snapshots';
import { formatBytes } from '../format/bytes.ts';

export const REASON_LABELS: Record<SnapshotReason, string> = {
  manual: 'By hand',
  stop: 'On stop',
  schedule: 'Scheduled',
  drain: 'Drain',
  move: 'Move',
};

export const SNAPSHOT_STATUS_LABELS: Record<SnapshotStatus, string> = {
  pending: 'Saving…',
  ready: 'Ready',
  failed: 'Failed',
};

/** "12 MB (wrote 40 KB)": what the snapshot holds, and what it newly added to the store. */
export function describeSnapshotSize(snapshot: SnapshotView): string {
  if (snapshot.bytes === null) return '—';
  const files =
    snapshot.files === null ? '' : `, ${snapshot.files} ${snapshot.files === 1 ? 'file' : 'files'}`;
  const written = snapshot.bytesWritten === null ? '' : ` (wrote ${formatBytes(snapshot.bytesWritten)})`;
  return `${formatBytes(snapshot.bytes)}${files}${written}`;
}
