import type { WorkspaceStatus } from '@keel/contract/workspaces';
import { createEffect, For, on, onCleanup, Show } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { errorMessage } from '../forms/error-message.ts';
import { createWorkspaceLogFollower } from './workspace-log-follower.ts';
import { isTransitional } from './workspace-status.ts';

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** The life-cycle log of one workspace (clone progress included), followed while the workspace changes. */
export function WorkspaceProgress(props: { id: string; workspaceId: string; status: WorkspaceStatus }) {
  const logs = createWorkspaceLogFollower(useApis().workspaces, props.workspaceId);
  let list: HTMLOListElement | undefined;

  createEffect(
    on(
      () => isTransitional(props.status),
      (changing) => {
        if (changing) logs.follow();
        else {
          // One last read picks up the final lines ("running", or why it failed).
          logs.stop();
          void logs.refresh();
        }
      },
    ),
  );
  onCleanup(() => logs.stop());

  createEffect(
    on(logs.lines, () => {
      // Stay pinned to the newest line, as a progress log should.
      if (list !== undefined) list.scrollTop = list.scrollHeight;
    }),
  );

  return (
    <div id={props.id} class="workspace-progress">
      <Show when={logs.error()}>
        {(error) => (
          <p class="alert alert-error" role="alert">
            Could not read the log: {errorMessage(error())}
          </p>
        )}
      </Show>
      <Show when={logs.lines()} fallback={<LoadingIndicator label="Loading the log…" />}>
        {(lines) => (
          <Show when={lines().length > 0} fallback={<p class="muted">Nothing logged yet.</p>}>
            <ol ref={list} class="log-lines" aria-label="Workspace log">
              <For each={lines()}>
                {(line) => (
                  <li class={`log-line log-${line.stream}`}>
                    <time datetime={line.at}>{timeFormat.format(new Date(line.at))}</time>
                    <span>{line.text}</span>
                  </li>
                )}
              </For>
            </ol>
          </Show>
        )}
      </Show>
    </div>
  );
}
