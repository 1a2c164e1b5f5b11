import { createSignal, Show } from 'solid-js';
import { ApiError } from '../api/api-error.ts';
import { Button } from '../components/button.tsx';
import { FormAlert, Notice } from '../components/form-alert.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { TextField } from '../components/text-field.tsx';
import { createFormAction, textValue } from '../forms/form-action.ts';
import type { AccountApi } from './account-api.ts';

/** Settings › Password: the current password is required; my other sessions end. */
export function PasswordPage(props: { api: AccountApi }) {
  usePageTitle('Password');
  const [done, setDone] = createSignal(false);
  let form: HTMLFormElement | undefined;
  const change = createFormAction(
    async (data) => {
      setDone(false);
      const next = textValue(data, 'newPassword');
      if (next !== textValue(data, 'confirmPassword'))
        throw fieldError('confirmPassword', 'type the same new password twice');
      try {
        await props.api.changePassword(textValue(data, 'currentPassword'), next);
      } catch (failure) {
        // Here a refused password is the current one, not a sign-in.
        if (failure instanceof ApiError && failure.code === 'invalid_credentials')
          throw fieldError('currentPassword', 'this is not your current password');
        throw failure;
      }
      form?.reset();
      setDone(true);
    },
    ['currentPassword', 'newPassword', 'confirmPassword'],
  );

  return (
    <>
      <h1 class="page-title">Password</h1>
      <section class="card" aria-labelledby="password-heading">
        <h2 id="password-heading" class="card-title">
          Change your password
        </h2>
        <p class="muted">At least 10 characters; a long passphrase is best. Your other sessions end.</p>
        <form
          ref={form}
          class="form"
          onSubmit={change.onSubmit}
          aria-labelledby="password-heading"
          novalidate
        >
          <FormAlert error={change.error()} />
          <Show when={done()}>
            <Notice message="Your password is changed, and your other sessions have ended." />
          </Show>
          <TextField
            formId="password"
            name="currentPassword"
            label="Current password"
            type="password"
            autocomplete="current-password"
            required
            error={change.fieldError('currentPassword')}
          />
          <TextField
            formId="password"
            name="newPassword"
            label="New password"
            type="password"
            autocomplete="new-password"
            required
            minLength={10}
            maxLength={256}
            error={change.fieldError('newPassword')}
          />
          <TextField
            formId="password"
            name="confirmPassword"
            label="New password, again"
            type="password"
            autocomplete="new-password"
            required
            error={change.fieldError('confirmPassword')}
          />
          <div class="card-actions">
            <Button type="submit" pending={change.pending()} pendingLabel="Changing…">
              Change password
            </Button>
          </div>
        </form>
      </section>
    </>
  );
}

/** A refusal shown under one field, in the shape the form's error handling reads. */
export function fieldError(path: string, message: string): ApiError {
  return new ApiError({ status: 0, code: 'validation_failed', message, issues: [{ path, message }] });
}
