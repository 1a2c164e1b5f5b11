import { createSignal, Show } from 'solid-js';
import { Button } from '../components/button.tsx';

/** A value to paste elsewhere (a callback URL): read-only, selectable, with a button that copies it. */
export function CopyField(props: { id: string; label: string; value: string; hint?: string }) {
  const [copied, setCopied] = createSignal<'yes' | 'failed'>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied('yes');
    } catch {
      // Without clipboard access (an http:// page, a denied permission) the field stays selectable.
      setCopied('failed');
    }
  };
  return (
    <div class="field">
      <label class="field-label" for={props.id}>
        {props.label}
      </label>
      <div class="copy-field">
        <input
          id={props.id}
          class="field-input field-mono"
          readOnly
          value={props.value}
          aria-describedby={props.hint ? `${props.id}-hint` : undefined}
          onFocus={(event) => event.currentTarget.select()}
        />
        <Button
          variant="secondary"
          size="small"
          onClick={() => void copy()}
          ariaLabel={`Copy the ${props.label.charAt(0).toLowerCase()}${props.label.slice(1)}`}
        >
          Copy
        </Button>
      </div>
      <Show when={props.hint}>
        <p id={`${props.id}-hint`} class="field-hint">
          {props.hint}
        </p>
      </Show>
      <p class="field-hint" role="status">
        {copied() === 'yes'
          ? 'Copied to the clipboard.'
          : copied() === 'failed'
            ? 'Could not copy: select the text and copy it.'
            : ''}
      </p>
    </div>
  );
}
