import { Show } from 'solid-js';
import type { FormError } from '../forms/describe-error.ts';

/** A failed submission. role="alert" has screen readers announce it the moment it appears. */
export function FormAlert(props: { error: FormError | undefined }) {
  return (
    <Show when={props.error}>
      {(error) => (
        <div class="alert alert-error" role="alert">
          <p>{error().message}</p>
          <Show when={error().reference}>
            {(reference) => <p class="alert-reference">Reference: {reference()}</p>}
          </Show>
        </div>
      )}
    </Show>
  );
}

/** Calm, non-error information, such as "your session ended". */
export function Notice(props: { message: string }) {
  return (
    <div class="alert alert-info" role="status">
      <p>{props.message}</p>
    </div>
  );
}
