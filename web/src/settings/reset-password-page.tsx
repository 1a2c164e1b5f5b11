import { createSignal, Show } from 'solid-js';
import { AuthLayout } from '../components/auth-layout.tsx';
import { Button } from '../components/button.tsx';
import { FormAlert, Notice } from '../components/form-alert.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { TextField } from '../components/text-field.tsx';
import { createFormAction, textValue } from '../forms/form-action.ts';
import type { AccountApi } from './account-api.ts';
import { fieldError } from './password-page.tsx';

/** The link an admin's password reset makes (`/reset-password#token=…`): choose a new password, then sign in. */
export function ResetPasswordPage(props: { api: AccountApi }) {
  usePageTitle('Choose a new password');
  // The token rides in the fragment, which browsers never send to a server.
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  const [done, setDone] = createSignal(false);
  const reset = createFormAction(
    async (data) => {
      const next = textValue(data, 'newPassword');
      if (next !== textValue(data, 'confirmPassword'))
        throw fieldError('confirmPassword', 'type the same new password twice');
      await props.api.redeemPasswordReset(token, next);
      history.replaceState(null, '', location.pathname);
      setDone(true);
    },
    ['newPassword', 'confirmPassword'],
  );
  return (
    <AuthLayout title="Choose a new password">
      <Show
        when={!done()}
        fallback={
          <>
            <Notice message="Your new password is set." />
            <p>
              <a href="/sign-in">Sign in</a>
            </p>
          </>
        }
      >
        <Show when={token} fallback={<p>This link has no reset token. Ask an admin for a new link.</p>}>
          <form class="form" onSubmit={reset.onSubmit} aria-label="Choose a new password" novalidate>
            <FormAlert error={reset.error()} />
            <TextField
              formId="reset"
              name="newPassword"
              label="New password"
              type="password"
              autocomplete="new-password"
              required
              minLength={10}
              error={reset.fieldError('newPassword')}
            />
            <TextField
              formId="reset"
              name="confirmPassword"
              label="New password, again"
              type="password"
              autocomplete="new-password"
              required
              error={reset.fieldError('confirmPassword')}
            />
            <Button type="submit" pending={reset.pending()} pendingLabel="Saving…">
              Set password
            </Button>
          </form>
        </Show>
      </Show>
    </AuthLayout>
  );
}
