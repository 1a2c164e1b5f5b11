import { createSignal, For, Show } from 'solid-js';
import type { PublicProvider } from '../../admin/sign-in-api.ts';
import { useApis } from '../../api/api-context.ts';
import { ApiError } from '../../api/api-error.ts';
import { Button } from '../../components/button.tsx';
import { FormAlert } from '../../components/form-alert.tsx';
import { TextField } from '../../components/text-field.tsx';
import { describeError, type FormError } from '../../forms/describe-error.ts';
import { textValue } from '../../forms/form-action.ts';
import { useSession } from '../../session/session-context.ts';

/** What a refused directory sign-in says: in the directory's words (username, not e-mail). */
function directoryError(error: unknown): FormError {
  if (error instanceof ApiError) {
    if (error.code === 'invalid_credentials')
      return { message: 'Username or password is incorrect.', fields: {} };
    if (error.code === 'forbidden' || error.code === 'email_taken' || error.code === 'directory_unavailable')
      return {
        message: error.message,
        fields: {},
        ...(error.requestId ? { reference: error.requestId } : {}),
      };
    if (error.code === 'directory_needs_node')
      return { message: 'Directory sign-in is not available on this server.', fields: {} };
  }
  return describeError(error, ['username', 'password']);
}

/** "Sign in with <directory>" for each directory the install offers; nothing when there is none. */
export function DirectorySignIn(props: { providers: readonly PublicProvider[]; lead?: string }) {
  const [open, setOpen] = createSignal<string>();
  return (
    <Show when={props.providers.length > 0}>
      <section class="sign-in-directories" aria-label="Directory sign-in">
        <p class="muted">{props.lead ?? 'Or sign in with your directory account:'}</p>
        <For each={props.providers}>
          {(p) => (
            <Show
              when={open() === p.slug}
              fallback={
                <Button variant="secondary" onClick={() => setOpen(p.slug)}>
                  Sign in with {p.name}
                </Button>
              }
            >
              <DirectoryForm provider={p} />
            </Show>
          )}
        </For>
      </section>
    </Show>
  );
}

function DirectoryForm(props: { provider: PublicProvider }) {
  const api = useApis().identity;
  const session = useSession();
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();
  const formId = () => `directory-${props.provider.slug}`;

  async function submit(event: SubmitEvent & { currentTarget: HTMLFormElement }): Promise<void> {
    event.preventDefault();
    if (pending()) return;
    const data = new FormData(event.currentTarget);
    setPending(true);
    setError(undefined);
    try {
      await api.ldapLogin({
        provider: props.provider.slug,
        username: textValue(data, 'username'),
        password: textValue(data, 'password'),
      });
      // The grant is in the client; the session learns who and where from /me.
      await session.start();
    } catch (failure) {
      setError(directoryError(failure));
    } finally {
      setPending(false);
    }
  }

  return (
    <form class="form" onSubmit={submit} aria-label={`Sign in with ${props.provider.name}`}>
      <FormAlert error={error()} />
      <TextField
        formId={formId()}
        name="username"
        label={`${props.provider.name} username`}
        autocomplete="username"
        required
        ref={(el) => queueMicrotask(() => el.focus())}
      />
      <TextField
        formId={formId()}
        name="password"
        label="Password"
        type="password"
        autocomplete="current-password"
        required
      />
      <Button type="submit" pending={pending()} pendingLabel="Signing in…">
        Sign in with {props.provider.name}
      </Button>
    </form>
  );
}
