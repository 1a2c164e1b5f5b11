import { Match, onCleanup, onMount, Switch } from 'solid-js';
import { useApis } from '../../api/api-context.ts';
import { ApiError } from '../../api/api-error.ts';
import { AuthLayout } from '../../components/auth-layout.tsx';
import { Button } from '../../components/button.tsx';
import { LoadingScreen } from '../../components/loading-screen.tsx';
import { errorMessage } from '../../forms/error-message.ts';
import { IdeWorkbench } from '../../ide/ide-workbench.tsx';
import { createWorkspaceWatch } from '../../workspaces/workspace-watch.ts';
import '../../ide/ide.css';

/**
 * The IDE for one workspace. This module (and Monaco behind it) is loaded only when a workspace is opened,
 * so the sign-in page and the workspace list stay small.
 */
export default function IdePage(props: { workspaceId: string }) {
  // Asked every few seconds while it runs, so a move (a drain, a lost host) shows as "moving" even when
  // it takes only a few seconds, and the files are read again as soon as it runs on the new host.
  const watch = createWorkspaceWatch(useApis().workspaces, props.workspaceId, { runningPollMs: 3000 });
  onMount(() => void watch.load());
  onCleanup(() => watch.dispose());
  const missing = () => {
    const error = watch.loadError();
    return error instanceof ApiError && error.status === 404;
  };

  return (
    <Switch>
      <Match when={watch.workspace()}>
        {(workspace) => <IdeWorkbench watch={watch} workspace={workspace()} />}
      </Match>
      <Match when={missing()}>
        <AuthLayout title="Workspace not found">
          <p class="muted">It may have been deleted, or it belongs to someone else.</p>
          <p>
            <a href="/">Go to your workspaces</a>
          </p>
        </AuthLayout>
      </Match>
      <Match when={watch.loadError()}>
        {(error) => (
          <AuthLayout title="Could not open the workspace">
            <p class="muted">{errorMessage(error())}</p>
            <Button onClick={() => void watch.load()}>Try again</Button>
          </AuthLayout>
        )}
      </Match>
      <Match when={true}>
        <LoadingScreen label="Opening the workspace…" />
      </Match>
    </Switch>
  );
}
