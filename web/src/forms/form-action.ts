import { type Accessor, createSignal, type JSX } from 'solid-js';
import { describeError, type FormError } from './describe-error.ts';

export interface FormAction {
  pending: Accessor<boolean>;
  error: Accessor<FormError | undefined>;
  fieldError(name: string): string | undefined;
  onSubmit: JSX.EventHandler<HTMLFormElement, SubmitEvent>;
}

/**
 * Wires a form to an async action: one submission at a time, the pending flag for the button, and any
 * failure turned into messages. A second click while pending is ignored rather than sent twice.
 */
export function createFormAction(
  action: (data: FormData) => Promise<void>,
  fieldNames: readonly string[],
): FormAction {
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<FormError>();

  const onSubmit: JSX.EventHandler<HTMLFormElement, SubmitEvent> = async (event) => {
    event.preventDefault();
    if (pending()) return;
    setPending(true);
    setError(undefined);
    try {
      await action(new FormData(event.currentTarget));
    } catch (failure) {
      setError(describeError(failure, fieldNames));
    } finally {
      setPending(false);
    }
  };

  return { pending, error, fieldError: (name) => error()?.fields[name], onSubmit };
}

/** FormData values are `File | string | null`; the auth forms only hold text. */
export function textValue(data: FormData, name: string): string {
  const value = data.get(name);
  return typeof value === 'string' ? value : '';
}
