import type { PublicProvidersResponse } from '@keel/contract/identity';
import { useLocation } from '@solidjs/router';
import { createResource, createSignal, For, Show } from 'solid-js';
import { useApis } from '../../api/api-context.ts';
import { AuthLayout } from '../../components/auth-layout.tsx';
import { Button } from '../../components/button.tsx';
import { FormAlert, Notice } from '../../components/form-alert.tsx';
import { LoadingIndicator } from '../../components/loading-indicator.tsx';
import { usePageTitle } from '../../components/page-title.ts';
import { TextField } from '../../components/text-field.tsx';
import { createFormAction, textValue } from '../../forms/form-action.ts';
import { useSession } from '../../session/session-context.ts';
import type { SignedOutNotice } from '../../session/session-store.ts';
import { DirectorySignIn } from './directory-sign-in.tsx';
import { returnToFor, ssoErrorMessage, ssoStartHref } from './sso-sign-in-words.ts';

/** What the page offers when the edge cannot say: the password form, as before providers existed. */
const PASSWORD_ONLY: PublicProvidersResponse = { providers: [], passwordSignIn: true };

const NOTICES: Record<SignedOutNotice, string> = {
  expired: 'Your session has ended. Sign in again to continue.',
  unavailable: 'Keel could not be reached to restore your session. You can still try to sign in.',
};

/**
 * Password sign-in, then "Sign in with …" for each single sign-on provider and directory. Where the
 * organization switched passwords off, its providers lead and the password form waits behind a
 * button (the last super admin's way in).
 */
export function SignInPage(props: { notice?: SignedOutNotice | undefined }) {
  const session = useSession();
  const location = useLocation();
  const api = useApis().identity;
  const [offer] = createResource(() => api.publicProviders().catch(() => PASSWORD_ONLY));
  const [passwordOpened, setPasswordOpened] = createSignal(false);
  const sso = () => (offer()?.providers ?? []).filter((p) => p.startUrl !== null);
  const directories = () => (offer()?.providers ?? []).filter((p) => p.kind === 'ldap');
  const passwordLeads = () => offer()?.passwordSignIn !== false || sso().length + directories().length === 0;
  const ssoError = () => ssoErrorMessage(location.search);
  const returnTo = () => returnToFor(location.pathname, location.search);
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
  usePageTitle('Sign in');

  const ssoButtons = (lead: string) => (
    <Show when={sso().length > 0}>
      <section class="sign-in-sso" aria-label="Single sign-on">
        <p class="muted">{lead}</p>
        <For each={sso()}>
          {(p) => (
            <a class="button button-secondary" href={ssoStartHref(p.startUrl ?? '', returnTo())}>
              Sign in with {p.name}
            </a>
          )}
        </For>
      </section>
    </Show>
  );

  const passwordForm = () => (
    <form class="form" onSubmit={form.onSubmit} aria-label="Sign in">
      <FormAlert error={form.error()} />
      <TextField
        ref={(element) => queueMicrotask(() => element.focus())}
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
  );

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
      <Show when={ssoError()}>
        {(message) => (
          <div class="alert alert-error" role="alert">
            <p>{message()}</p>
          </div>
        )}
      </Show>
      <Show when={offer()} fallback={<LoadingIndicator label="Loading the ways to sign in…" />}>
        <Show
          when={passwordLeads()}
          fallback={
            <>
              {ssoButtons('Sign in with your organization’s account:')}
              <DirectorySignIn
                providers={directories()}
                lead={
                  sso().length > 0
                    ? 'Or with your directory account:'
                    : 'Sign in with your directory account:'
                }
              />
              <div class="sign-in-password">
                <Show
                  when={passwordOpened()}
                  fallback={
                    <Button variant="secondary" onClick={() => setPasswordOpened(true)}>
                      Sign in with a password
                    </Button>
                  }
                >
                  {passwordForm()}
                </Show>
              </div>
            </>
          }
        >
          {passwordForm()}
          {ssoButtons('Or sign in with:')}
          <DirectorySignIn providers={directories()} />
        </Show>
      </Show>
    </AuthLayout>
  );
}
