import { Index } from 'solid-js';
import { Button } from '../components/button.tsx';
import type { LabelRow } from './label-rows.ts';

/**
 * key=value rows, each with its own labelled inputs and a Remove button, and a way to add one.
 * `name` words the labels ("Required label 2 key"), so every input is told apart by screen readers.
 */
export function LabelRowsEditor(props: {
  legend: string;
  hint: string;
  name: string;
  idPrefix: string;
  rows: LabelRow[];
  onChange: (rows: LabelRow[]) => void;
}) {
  const set = (index: number, change: Partial<LabelRow>) =>
    props.onChange(props.rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  return (
    <fieldset class="field">
      <legend class="field-label">{props.legend}</legend>
      <p class="field-hint" id={`${props.idPrefix}-hint`}>
        {props.hint}
      </p>
      <ul class="label-rows" aria-label={props.legend}>
        <Index each={props.rows}>
          {(row, index) => (
            <li class="label-row">
              <div>
                <label class="field-label" for={`${props.idPrefix}-${index}-key`}>
                  Key{' '}
                  <span class="visually-hidden">
                    of {props.name.toLowerCase()} {index + 1}
                  </span>
                </label>
                <input
                  id={`${props.idPrefix}-${index}-key`}
                  class="field-input"
                  value={row().key}
                  maxLength={63}
                  autocomplete="off"
                  autocapitalize="none"
                  spellcheck={false}
                  placeholder="region"
                  onInput={(event) => set(index, { key: event.currentTarget.value })}
                />
              </div>
              <div>
                <label class="field-label" for={`${props.idPrefix}-${index}-value`}>
                  Value{' '}
                  <span class="visually-hidden">
                    of {props.name.toLowerCase()} {index + 1}
                  </span>
                </label>
                <input
                  id={`${props.idPrefix}-${index}-value`}
                  class="field-input"
                  value={row().value}
                  maxLength={128}
                  autocomplete="off"
                  autocapitalize="none"
                  spellcheck={false}
                  placeholder="eu-west"
                  onInput={(event) => set(index, { value: event.currentTarget.value })}
                />
              </div>
              <Button
                size="small"
                variant="ghost"
                ariaLabel={`Remove ${props.name.toLowerCase()} ${index + 1}`}
                onClick={() => props.onChange(props.rows.filter((_, i) => i !== index))}
              >
                Remove
              </Button>
            </li>
          )}
        </Index>
      </ul>
      <Button
        size="small"
        variant="secondary"
        ariaLabel={`Add label to ${props.legend.toLowerCase()}`}
        onClick={() => props.onChange([...props.rows, { key: '', value: '' }])}
      >
        Add label
      </Button>
    </fieldset>
  );
}
