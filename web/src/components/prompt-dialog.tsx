import { createSignal, onMount } from 'solid-js';
import { createFormAction, textValue } from '../forms/form-action.ts';
import { Button } from './button.tsx';
import { Dialog } from './dialog.tsx';
import { FormAlert } from './form-alert.tsx';
import { TextField } from './text-field.tsx';

export interface PromptDialogProps {
  open: boolean;
  title: string;
  label: string;
  initialValue?: string;
  hint?: string;
  submitLabel: string;
  pendingLabel: string;
  /** Why the value cannot be used, checked before submitting; undefined when it can. */
  validate?: (value: string) => string | undefined;
  /** Rejecting keeps the dialog open with the error shown. */
  onSubmit: (value: string) => Promise<void>;
  onCancel: () => void;
}

/** Asks for one line of text, e.g. a file name. */
export function PromptDialog(props: PromptDialogProps) {
  return (
    <Dialog open={props.open} title={props.title} onClose={props.onCancel}>
      <PromptForm {...props} />
    </Dialog>
  );
}

function PromptForm(props: PromptDialogProps) {
  const [problem, setProblem] = createSignal<string>();
  const form = createFormAction(
    async (data) => {
      const value = textValue(data, 'value');
      const invalid = props.validate?.(value);
      setProblem(invalid);
      if (invalid === undefined) await props.onSubmit(value);
    },
    ['value'],
  );
  let input: HTMLInputElement | undefined;

  onMount(() => {
    if (input === undefined) return;
    input.value = props.initialValue ?? '';
    input.focus();
    // Select the name without its extension, as file managers do, so typing replaces just the name.
    const dot = input.value.lastIndexOf('.');
    input.setSelectionRange(0, dot > 0 ? dot : input.value.length);
  });

  return (
    <form class="form" onSubmit={form.onSubmit} aria-label={props.title}>
      <FormAlert error={form.error()} />
      <TextField
        ref={(element) => {
          input = element;
        }}
        formId="prompt"
        name="value"
        label={props.label}
        autocomplete="off"
        required
        hint={props.hint}
        error={problem() ?? form.fieldError('value')}
      />
      <div class="dialog-footer dialog-footer-inline">
        <Button variant="secondary" onClick={props.onCancel}>
          Cancel
        </Button>
        <Button type="submit" pending={form.pending()} pendingLabel={props.pendingLabel}>
          {props.submitLabel}
        </Button>
      </div>
    </form>
  );
}
