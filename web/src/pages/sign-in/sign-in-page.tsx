import { useLocation } from '@solidjs/router';
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
  const location = useLocation();
  // An invitation link followed by someone who already has an account: signing in accepts it.
  const inviteToken = () => new URLSearchParams(location.search).get('invite') || undefined;
  const form = createFormAction(
    (data) => {
      const invite = inviteToken();
      return session.signIn({
        email: textValue(data, 'email'),
        password: textValue(data, 'password'),
        ...(invite ? { inviteToken: invite } : {}),
      });
    },
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
          New here?{' '}
          <a href={inviteToken() ? `/sign-up?invite=${encodeURIComponent(inviteToken()!)}` : '/sign-up'}>
            Create an account
          </a>
        </p>
      }
    >
      <Show when={props.notice}>{(notice) => <Notice message={NOTICES[notice()]} />}</Show>
      <Show when={inviteToken()}>
        <Notice message="You were invited to an organization. Sign in to accept the invitation." />
      </Show>
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
