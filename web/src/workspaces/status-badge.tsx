import type { WorkspaceStatus } from '@keel/contract/workspaces';
import { Show } from 'solid-js';
import { isTransitional, STATUS_LABELS } from './workspace-status.ts';

/** The status as a coloured pill; changing states carry a spinner so they read as "in progress". */
export function StatusBadge(props: { status: WorkspaceStatus }) {
  return (
    <span class={`status status-${props.status}`}>
      <Show when={isTransitional(props.status)} fallback={<span class="status-dot" aria-hidden="true" />}>
        <span class="spinner spinner-small" aria-hidden="true" />
      </Show>
      {STATUS_LABELS[props.status]}
    </span>
  );
}
