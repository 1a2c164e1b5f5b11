import { createEffect, Match, on, onCleanup, onMount, Switch } from 'solid-js';
import { useApis } from '../../api/api-context.ts';
import { ApiError } from '../../api/api-error.ts';
import { AuthLayout } from '../../components/auth-layout.tsx';
import { Button } from '../../components/button.tsx';
import { LoadingScreen } from '../../components/loading-screen.tsx';
import { errorMessage } from '../../forms/error-message.ts';
import { IdeWorkbench } from '../../ide/ide-workbench.tsx';
import { createWorkspaceLogFollower } from '../../workspaces/workspace-log-follower.ts';
import { createWorkspaceWatch } from '../../workspaces/workspace-watch.ts';
import '../../ide/ide.css';

/**
 * The IDE for one workspace. This module (and Monaco behind it) is loaded only when a workspace is opened,
 * so the sign-in page and the workspace list stay small.
 */
export default function IdePage(props: { workspaceId: string }) {
  const apis = useApis();
  const watch = createWorkspaceWatch(apis.workspaces, props.workspaceId);
  // Every change of state (a move of a drain or a lost host, a restore, a stop elsewhere) writes a
  // line in the workspace's log: following it live asks for the status at once, so a move of a
  // second or two shows as "moving", and the files are read again as soon as it runs on its new host.
  const log = createWorkspaceLogFollower(apis.workspaces, props.workspaceId);
  createEffect(
    on(
      () => log.lines()?.length,
      (count, before) => {
        if (before !== undefined && count !== undefined && count > before) void watch.refresh();
      },
    ),
  );
  onMount(() => {
    void watch.load();
    void log.refresh().then(() => log.follow());
  });
  onCleanup(() => {
    log.stop();
    watch.dispose();
  });
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
