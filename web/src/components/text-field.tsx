import { type JSX, Show } from 'solid-js';

export interface TextFieldProps {
  /** Also the FormData key, so server issues about `email` find the input named `email`. */
  name: string;
  /** Prefix for element ids, unique per page. */
  formId: string;
  label: string;
  type?: 'text' | 'email' | 'password';
  autocomplete: JSX.HTMLAutocomplete;
  required?: boolean;
  minLength?: number;
  maxLength?: number;
  hint?: string;
  error?: string | undefined;
  disabled?: boolean;
  ref?: (element: HTMLInputElement) => void;
}

export function TextField(props: TextFieldProps) {
  const id = () => `${props.formId}-${props.name}`;
  const describedBy = () =>
    [props.hint ? `${id()}-hint` : '', props.error ? `${id()}-error` : ''].filter(Boolean).join(' ') ||
    undefined;

  return (
    <div class="field">
      <label class="field-label" for={id()}>
        {props.label}
        <Show when={!props.required}>
          <span class="field-optional"> (optional)</span>
        </Show>
      </label>
      <input
        ref={props.ref}
        id={id()}
        name={props.name}
        type={props.type ?? 'text'}
        class="field-input"
        autocomplete={props.autocomplete}
        required={props.required}
        minLength={props.minLength}
        maxLength={props.maxLength}
        disabled={props.disabled}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={describedBy()}
        // Emails and passwords are not prose: no capitalising the first letter on phones, no spell-check.
        autocapitalize={props.type === 'text' ? undefined : 'none'}
        spellcheck={false}
      />
      <Show when={props.hint}>
        <p id={`${id()}-hint`} class="field-hint">
          {props.hint}
        </p>
      </Show>
      <Show when={props.error}>
        <p id={`${id()}-error`} class="field-error">
          {props.error}
        </p>
      </Show>
    </div>
  );
}
