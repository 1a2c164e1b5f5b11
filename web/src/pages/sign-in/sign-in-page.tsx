import { onMount, Show } from 'solid-js';
import { AuthLayout } from '../../components/auth-layout.tsx';
import { Button } from '../../components/button.tsx';
import { FormAlert, Notice } from '../../components/form-alert.tsx';
import { usePageTitle } from '../../components/page-title.ts';
import { TextField } from '../../components/text-field.tsx';
import { createFormAction, textValue } from '../../forms/form-action.ts';
import { useSession } from '../../session/session-context.ts';
import type { SignedOutNotice } from '../../session/session-store.ts';
import { DirectorySignIn } from './directory-sign-in.tsx';

const NOTICES: Record<SignedOutNotice, string> = {
  expired: 'Your session has ended. Sign in again to continue.',
  unavailable: 'Keel could not be reached to restore your session. You can still try to sign in.',
};

export function SignInPage(props: { notice?: SignedOutNotice | undefined }) {
  const session = useSession();
  const form = createFormAction(
    (data) => session.signIn({ email: textValue(data, 'email'), password: textValue(data, 'password') }),
    ['email', 'password'],
  );
  let emailInput: HTMLInputElement | undefined;
  usePageTitle('Sign in');
  onMount(() => emailInput?.focus());

  return (
    <AuthLayout
      title="Sign in to Keel"
      footer={
        <p>
          New here? <a href="/sign-up">Create an account</a>
        </p>
      }
    >
      <Show when={props.notice}>{(notice) => <Notice message={NOTICES[notice()]} />}</Show>
      <form class="form" onSubmit={form.onSubmit} aria-label="Sign in">
        <FormAlert error={form.error()} />
        <TextField
          ref={(element) => {
            emailInput = element;
          }}
          formId="sign-in"
          name="email"
          label="Email"
          type="email"
          autocomplete="username"
          required
          error={form.fieldError('email')}
        />
        <TextField
          formId="sign-in"
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
          required
          error={form.fieldError('password')}
        />
        <Button type="submit" pending={form.pending()} pendingLabel="Signing in…">
          Sign in
        </Button>
      </form>
      <DirectorySignIn />
    </AuthLayout>
  );
}
