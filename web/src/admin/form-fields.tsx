import { For, type JSX, Show } from 'solid-js';

interface FieldBase {
  /** Prefix for element ids, unique per page. */
  formId: string;
  /** The FormData key, and the key of its error. */
  name: string;
  label: string;
  hint?: string | undefined;
  error?: string | undefined;
  required?: boolean;
}

function ids(props: FieldBase) {
  const id = `${props.formId}-${props.name}`;
  const describedBy =
    [props.hint ? `${id}-hint` : '', props.error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return { id, describedBy };
}

function Label(props: FieldBase & { for: string }) {
  return (
    <label class="field-label" for={props.for}>
      {props.label}
      <Show when={!props.required}>
        <span class="field-optional"> (optional)</span>
      </Show>
    </label>
  );
}

function HintAndError(props: FieldBase) {
  const { id } = ids(props);
  return (
    <>
      <Show when={props.hint}>
        <p id={`${id}-hint`} class="field-hint">
          {props.hint}
        </p>
      </Show>
      <Show when={props.error}>
        <p id={`${id}-error`} class="field-error">
          {props.error}
        </p>
      </Show>
    </>
  );
}

/** A text, number or password input with its label, hint and error, wired for screen readers. */
export function InputField(
  props: FieldBase & {
    type?: 'text' | 'number' | 'password';
    value?: string;
    min?: number;
    max?: number;
    step?: string;
    maxLength?: number;
    placeholder?: string;
    inputMode?: 'numeric' | 'decimal';
    autocomplete?: JSX.HTMLAutocomplete;
  },
) {
  const names = () => ids(props);
  return (
    <div class="field">
      <Label {...props} for={names().id} />
      <input
        id={names().id}
        name={props.name}
        type={props.type ?? 'text'}
        class="field-input"
        value={props.value ?? ''}
        required={props.required}
        min={props.min}
        max={props.max}
        step={props.step}
        maxLength={props.maxLength}
        placeholder={props.placeholder}
        inputMode={props.inputMode}
        autocomplete={props.autocomplete ?? 'off'}
        autocapitalize="none"
        spellcheck={false}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={names().describedBy}
      />
      <HintAndError {...props} />
    </div>
  );
}

export function SelectField(
  props: FieldBase & {
    value: string;
    options: ReadonlyArray<{ value: string; label: string }>;
    onChange?: (value: string) => void;
  },
) {
  const names = () => ids(props);
  return (
    <div class="field">
      <Label {...props} required for={names().id} />
      <select
        id={names().id}
        name={props.name}
        class="field-input"
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={names().describedBy}
        onChange={(event) => props.onChange?.(event.currentTarget.value)}
      >
        <For each={props.options}>
          {(option) => (
            <option value={option.value} selected={option.value === props.value}>
              {option.label}
            </option>
          )}
        </For>
      </select>
      <HintAndError {...props} />
    </div>
  );
}

/**
 * A secret (key, certificate, kubeconfig) from a file or pasted. It is never filled in from the
 * server, which does not have it to give: in an edit form, leaving it empty keeps the sealed one.
 */
export function SecretField(props: FieldBase & { accept?: string; rows?: number; replacing?: boolean }) {
  const names = () => ids(props);
  const fileId = () => `${names().id}-file`;
  return (
    <fieldset
      class="field secret-field"
      aria-describedby={names().describedBy}
      aria-invalid={props.error ? 'true' : undefined}
    >
      <legend class="field-label">
        {props.label}
        <Show when={!props.required}>
          <span class="field-optional"> (optional)</span>
        </Show>
      </legend>
      <label class="secret-field-part" for={fileId()}>
        From a file
      </label>
      <input id={fileId()} name={`${props.name}File`} type="file" accept={props.accept} class="field-file" />
      <label class="secret-field-part" for={names().id}>
        Or paste it
      </label>
      <textarea
        id={names().id}
        name={props.name}
        class="field-input field-mono"
        rows={props.rows ?? 4}
        autocomplete="off"
        autocapitalize="none"
        spellcheck={false}
        aria-invalid={props.error ? 'true' : undefined}
        placeholder={props.replacing ? 'Leave empty to keep the current one' : undefined}
      />
      <HintAndError {...props} />
    </fieldset>
  );
}

/** One of a few choices as radio buttons with a title and a hint each. */
export function ChoiceGroup<T extends string>(props: {
  legend: string;
  name: string;
  value: T;
  choices: ReadonlyArray<{ value: T; title: string; hint?: string }>;
  onChange: (value: T) => void;
}) {
  return (
    <fieldset class="choice-group">
      <legend class="field-label">{props.legend}</legend>
      <For each={props.choices}>
        {(choice) => (
          <label class="choice">
            <input
              type="radio"
              name={props.name}
              value={choice.value}
              checked={props.value === choice.value}
              onChange={() => props.onChange(choice.value)}
            />
            <span>
              <span class="choice-title">{choice.title}</span>
              <Show when={choice.hint}>
                <span class="choice-hint">{choice.hint}</span>
              </Show>
            </span>
          </label>
        )}
      </For>
    </fieldset>
  );
}
