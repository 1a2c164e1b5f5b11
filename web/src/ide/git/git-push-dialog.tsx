import type { GitPushRequest, GitPushResponse } from '@keel/contract/integrations';
import { createSignal, Show } from 'solid-js';
import { Button } from '../../components/button.tsx';
import { Dialog } from '../../components/dialog.tsx';
import { FormAlert } from '../../components/form-alert.tsx';
import { TextField } from '../../components/text-field.tsx';
import { createFormAction, textValue } from '../../forms/form-action.ts';
import {
  hostNamedIn,
  INTEGRATIONS_PATH,
  keepTokenText,
  pushHeadline,
  pushRequest,
  tokenHostForResult,
} from './git-push.ts';

export interface GitPushDialogProps {
  open: boolean;
  /** Pushes with the owner's kept token; a rejection is shown in the dialog. */
  push: (request: GitPushRequest) => Promise<GitPushResponse>;
  /** Whether the workspace runs: the runner pushes from it, so a stopped one cannot. */
  running: boolean;
  onClose: () => void;
}

/** Git: Push… a remote (origin unless named) and a branch (the one checked out unless named). */
export function GitPushDialog(props: GitPushDialogProps) {
  return (
    <Dialog open={props.open} title="Push to a Git remote" size="wide" onClose={props.onClose}>
      <GitPushForm {...props} />
    </Dialog>
  );
}

function GitPushForm(props: GitPushDialogProps) {
  const [result, setResult] = createSignal<GitPushResponse>();
  const form = createFormAction(
    async (data) => {
      if (!props.running) return;
      setResult(undefined);
      setResult(await props.push(pushRequest(textValue(data, 'remote'), textValue(data, 'branch'))));
    },
    ['remote', 'branch'],
  );
  const tokenHost = () => {
    const answered = result();
    if (answered) return tokenHostForResult(answered);
    const error = form.error();
    return error ? hostNamedIn(error.message) : undefined;
  };
  let remoteInput: HTMLInputElement | undefined;

  return (
    <form class="form git-push-form" onSubmit={form.onSubmit} aria-label="Push to a Git remote">
      <p class="dialog-text">
        The workspace’s repository is pushed with the Git host token you keep in Settings › Integrations.
      </p>
      <TextField
        ref={(element) => {
          remoteInput = element;
          element.value = 'origin';
          queueMicrotask(() => remoteInput?.focus());
        }}
        formId="git-push"
        name="remote"
        label="Remote"
        autocomplete="off"
        required
        maxLength={100}
        error={form.fieldError('remote')}
      />
      <TextField
        formId="git-push"
        name="branch"
        label="Branch"
        autocomplete="off"
        maxLength={250}
        hint="Left empty: the branch checked out."
        error={form.fieldError('branch')}
      />
      <Show when={!props.running}>
        <p class="alert alert-info" role="status">
          Start the workspace to push from it.
        </p>
      </Show>
      <FormAlert error={form.error()} />
      <div role="status" aria-live="polite" class="git-push-status">
        <Show when={form.pending()}>
          <p>
            <span class="spinner spinner-small" aria-hidden="true" /> Pushing…
          </p>
        </Show>
        <Show when={!form.pending() && result()}>
          {(answered) => (
            <p
              class={
                answered().pushed ? 'git-push-headline git-push-ok' : 'git-push-headline git-push-failed'
              }
            >
              {pushHeadline(answered())}
            </p>
          )}
        </Show>
      </div>
      <Show when={!form.pending() && result()}>
        {(answered) => (
          <div class="git-push-result">
            <dl class="git-push-facts">
              <dt>Remote</dt>
              <dd>{answered().remote}</dd>
              <dt>Branch</dt>
              <dd>{answered().branch}</dd>
              <dt>URL</dt>
              <dd>
                <code>{answered().url}</code>
              </dd>
              <dt>Token</dt>
              <dd>{answered().authenticated ? 'Your kept token was sent' : 'No token was sent'}</dd>
            </dl>
            <Show when={answered().output.trim() !== ''}>
              <pre
                class="git-push-output"
                role="log"
                aria-label="What git said"
                // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to be scrolled without a mouse.
                tabIndex={0}
              >
                {answered().output}
              </pre>
            </Show>
          </div>
        )}
      </Show>
      <Show when={!form.pending() && tokenHost()}>
        {(host) => (
          <p class="git-push-token">
            <a href={INTEGRATIONS_PATH}>{keepTokenText(host())}</a>
          </p>
        )}
      </Show>
      <div class="dialog-footer dialog-footer-inline">
        <Button variant="secondary" onClick={props.onClose}>
          Close
        </Button>
        <Button type="submit" pending={form.pending()} pendingLabel="Pushing…" disabled={!props.running}>
          Push
        </Button>
      </div>
    </form>
  );
}
