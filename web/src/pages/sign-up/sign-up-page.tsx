import type { SignupRequest } from '@keel/contract/auth';
import { useLocation } from '@solidjs/router';
import { onMount, Show } from 'solid-js';
import { AuthLayout } from '../../components/auth-layout.tsx';
import { Button } from '../../components/button.tsx';
import { FormAlert, Notice } from '../../components/form-alert.tsx';
import { usePageTitle } from '../../components/page-title.ts';
import { TextField } from '../../components/text-field.tsx';
import { createFormAction, textValue } from '../../forms/form-action.ts';
import { useSession } from '../../session/session-context.ts';

const FIELDS = ['name', 'email', 'password', 'organization'] as const;

export function SignUpPage() {
  const session = useSession();
  const location = useLocation();
  const inviteToken = () => new URLSearchParams(location.search).get('invite') || undefined;

  const form = createFormAction((data) => {
    const organization = textValue(data, 'organization').trim();
    const request: SignupRequest = {
      name: textValue(data, 'name'),
      email: textValue(data, 'email'),
      password: textValue(data, 'password'),
      // Left out rather than sent empty: the server's schema rejects an empty organization name.
      organization: organization === '' ? undefined : organization,
      inviteToken: inviteToken(),
    };
    return session.signUp(request);
  }, FIELDS);

  let nameInput: HTMLInputElement | undefined;
  usePageTitle('Create an account');
  onMount(() => nameInput?.focus());

  return (
    <AuthLayout
      title={inviteToken() ? 'Join your team on Keel' : 'Create your Keel account'}
      footer={
        <p>
          Already have an account?{' '}
          <a href={inviteToken() ? `/sign-in?invite=${encodeURIComponent(inviteToken()!)}` : '/sign-in'}>
            {inviteToken() ? 'Sign in to accept the invitation' : 'Sign in'}
          </a>
        </p>
      }
    >
      <Show when={inviteToken()}>
        <Notice message="You were invited to an organization. Use the email address the invitation was sent to." />
      </Show>
      <form class="form" onSubmit={form.onSubmit} aria-label="Create an account">
        <FormAlert error={form.error()} />
        <TextField
          ref={(element) => {
            nameInput = element;
          }}
          formId="sign-up"
          name="name"
          label="Your name"
          autocomplete="name"
          required
          maxLength={100}
          error={form.fieldError('name')}
        />
        <TextField
          formId="sign-up"
          name="email"
          label="Email"
          type="email"
          autocomplete="email"
          required
          maxLength={254}
          error={form.fieldError('email')}
        />
        <TextField
          formId="sign-up"
          name="password"
          label="Password"
          type="password"
          autocomplete="new-password"
          required
          minLength={10}
          maxLength={256}
          hint="At least 10 characters. A passphrase of a few words works well."
          error={form.fieldError('password')}
        />
        <Show when={!inviteToken()}>
          <TextField
            formId="sign-up"
            name="organization"
            label="Organization name"
            autocomplete="organization"
            maxLength={100}
            hint="The first account creates the organization; everyone after joins with an invitation link."
            error={form.fieldError('organization')}
          />
        </Show>
        <Button type="submit" pending={form.pending()} pendingLabel="Creating your account…">
          Create account
        </Button>
      </form>
    </AuthLayout>
  );
}
