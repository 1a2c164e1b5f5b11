import type { DrainProgress } from '@keel/contract/fleet';
import { Show } from 'solid-js';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { relativeTime } from '../format/relative-time.ts';

export function drainButtonLabel(draining: boolean): string {
  return draining ? 'Stop draining' : 'Drain';
}

/** Where a drain stands, in words: the workspaces still there, moving now, and moves that failed. */
export function describeDrain(drain: DrainProgress): string {
  const counts = `${drain.remaining} remaining · ${drain.moving} moving · ${drain.failed} failed`;
  if (!drain.draining) return `Drain ended. ${counts}`;
  if (drain.remaining === 0 && drain.moving === 0)
    return drain.failed > 0 ? `Drained, but ${drain.failed} could not move` : 'Drained: no workspaces left';
  return `Draining: ${counts}`;
}

/** The progress line of a runner's or server's drain; a live region, so the numbers are heard as they change. */
export function DrainProgressView(props: { drain: DrainProgress }) {
  return (
    <Show when={props.drain.draining || props.drain.moving > 0 || props.drain.failed > 0}>
      <p class="drain-progress" role="status" aria-live="polite">
        {describeDrain(props.drain)}
        <Show when={props.drain.since}>
          {(since) => <span class="muted"> (since {relativeTime(since())})</span>}
        </Show>
      </p>
    </Show>
  );
}

/** "Drain this?" (or "Stop draining?"), with what it does said plainly. */
export function DrainConfirm(props: {
  name: string;
  kind: 'runner' | 'server';
  draining: boolean;
  onConfirm: () => Promise<void>;
  onCancel: () => void;
}) {
  return (
    <ConfirmDialog
      open
      title={props.draining ? `Stop draining ${props.name}?` : `Drain ${props.name}?`}
      confirmLabel={props.draining ? 'Stop draining' : `Drain ${props.kind}`}
      pendingLabel={props.draining ? 'Stopping…' : 'Draining…'}
      danger={!props.draining}
      onConfirm={props.onConfirm}
      onCancel={props.onCancel}
    >
      <Show
        when={props.draining}
        fallback={
          <p>
            New workspaces are no longer placed on it, and each of its workspaces moves to another{' '}
            {props.kind === 'runner' ? 'runner' : 'runner or server'}: stopped, saved in a snapshot, restored
            there and started again. Open IDEs show “moving” meanwhile; no files are lost.
          </p>
        }
      >
        <p>It takes new workspaces again. Workspaces that already moved stay where they are.</p>
      </Show>
    </ConfirmDialog>
  );
}
