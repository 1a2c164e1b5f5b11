import type { Workspace } from '@keel/contract/workspaces';
import { useNavigate } from '@solidjs/router';
import { createSignal, For, Show } from 'solid-js';
import type { WorkspaceAction } from '../api/workspaces-api.ts';
import { Button } from '../components/button.tsx';
import { relativeTime } from '../format/relative-time.ts';
import { StatusBadge } from './status-badge.tsx';
import type { PendingAction } from './workspace-list-store.ts';
import { WorkspaceProgress } from './workspace-progress.tsx';
import { ACTION_LABELS, actionsFor, showsReason } from './workspace-status.ts';

export interface WorkspaceCardProps {
  workspace: Workspace;
  pending: PendingAction | undefined;
  /** Show the progress log from the start (a workspace just created). */
  showProgress?: boolean;
  onAction: (action: WorkspaceAction) => void;
  onDelete: () => void;
  snapshotPending: boolean;
  onSnapshot: () => void;
  /** Open only (read-only IDE): no lifecycle, snapshot or delete, for people without `workspaces:use`. */
  readOnly?: boolean;
}

export function WorkspaceCard(props: WorkspaceCardProps) {
  const navigate = useNavigate();
  const [progressOpen, setProgressOpen] = createSignal(props.showProgress ?? false);
  const href = () => `/workspaces/${props.workspace.id}`;
  const progressId = () => `progress-${props.workspace.id}`;
  const busy = () => props.pending !== undefined;

  return (
    <li class="workspace-card" aria-labelledby={`name-${props.workspace.id}`}>
      <div class="workspace-card-row">
        <div class="workspace-summary">
          <h2 class="workspace-name" id={`name-${props.workspace.id}`}>
            <a href={href()}>{props.workspace.name}</a>
          </h2>
          <p class="workspace-source">
            <Show
              when={props.workspace.source.type === 'git' && props.workspace.source}
              fallback={props.workspace.source.type === 'snapshot' ? 'From a snapshot' : 'Empty workspace'}
            >
              {(source) => (
                <>
                  Cloned from <code>{source().url}</code>
                  <Show when={source().ref}>
                    {(ref) => (
                      <>
                        {' '}
                        at <code>{ref()}</code>
                      </>
                    )}
                  </Show>
                </>
              )}
            </Show>
          </p>
          <p class="workspace-meta">
            <StatusBadge status={props.workspace.status} />
            <span class="muted">
              Updated{' '}
              <time datetime={props.workspace.updatedAt}>{relativeTime(props.workspace.updatedAt)}</time>
            </span>
          </p>
          <Show when={showsReason(props.workspace.status) && props.workspace.statusReason}>
            {(reason) => <p class="workspace-reason">{reason()}</p>}
          </Show>
        </div>
        <div class="workspace-actions">
          <Button
            variant={props.workspace.status === 'running' ? 'primary' : 'secondary'}
            size="small"
            ariaLabel={`Open ${props.workspace.name}`}
            disabled={props.workspace.status === 'deleting'}
            onClick={() => navigate(href())}
          >
            Open
          </Button>
          <Show when={!props.readOnly}>
            <For each={actionsFor(props.workspace.status)}>
              {(action) => (
                <Button
                  variant="secondary"
                  size="small"
                  ariaLabel={`${ACTION_LABELS[action].label} ${props.workspace.name}`}
                  pending={props.pending === action}
                  pendingLabel={ACTION_LABELS[action].pending}
                  disabled={busy()}
                  onClick={() => props.onAction(action)}
                >
                  {ACTION_LABELS[action].label}
                </Button>
              )}
            </For>
            <Show when={props.workspace.status === 'running' || props.workspace.status === 'stopped'}>
              <Button
                variant="secondary"
                size="small"
                ariaLabel={`Snapshot ${props.workspace.name}`}
                pending={props.snapshotPending}
                pendingLabel="Asking…"
                disabled={busy()}
                onClick={props.onSnapshot}
              >
                Snapshot
              </Button>
            </Show>
            <Button
              variant="ghost"
              size="small"
              ariaLabel={`Delete ${props.workspace.name}`}
              pending={props.pending === 'delete'}
              pendingLabel="Deleting…"
              disabled={busy()}
              onClick={props.onDelete}
            >
              Delete
            </Button>
          </Show>
          <button
            type="button"
            class="disclosure"
            aria-expanded={progressOpen() ? 'true' : 'false'}
            aria-controls={progressId()}
            onClick={() => setProgressOpen(!progressOpen())}
          >
            {progressOpen() ? 'Hide log' : 'Show log'}
          </button>
        </div>
      </div>
      <Show when={progressOpen()}>
        <WorkspaceProgress
          id={progressId()}
          workspaceId={props.workspace.id}
          status={props.workspace.status}
        />
      </Show>
    </li>
  );
}
