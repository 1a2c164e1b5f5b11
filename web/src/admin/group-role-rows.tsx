import type { Role } from '@keel/contract/auth';
import { For, Index } from 'solid-js';
import { Button } from '../components/button.tsx';
import { ROLE_LABELS } from './members-api.ts';

export const ROLES: readonly Role[] = ['viewer', 'developer', 'admin', 'super_admin'];

export interface GroupRoleRow {
  group: string;
  role: Role;
}

/**
 * Group (or team) → role rows, each with its own labelled inputs and a Remove button. `itemLabel`
 * words the labels ("Group 2", "Team 1"), so every input is told apart by screen readers.
 */
export function GroupRoleRows(props: {
  legend: string;
  hint: string;
  itemLabel: string;
  placeholder: string;
  idPrefix: string;
  rows: readonly GroupRoleRow[];
  error?: string | undefined;
  onChange: (rows: GroupRoleRow[]) => void;
}) {
  const set = (index: number, change: Partial<GroupRoleRow>) =>
    props.onChange(props.rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  return (
    <fieldset class="field">
      <legend class="field-label">{props.legend}</legend>
      <p class="field-hint">{props.hint}</p>
      <ul class="label-rows" aria-label={props.legend}>
        <Index each={props.rows}>
          {(row, index) => (
            <li class="label-row">
              <div>
                <label class="field-label" for={`${props.idPrefix}-${index}-group`}>
                  {props.itemLabel} {index + 1}
                </label>
                <input
                  id={`${props.idPrefix}-${index}-group`}
                  class="field-input"
                  value={row().group}
                  maxLength={1024}
                  autocomplete="off"
                  autocapitalize="none"
                  spellcheck={false}
                  placeholder={props.placeholder}
                  onInput={(event) => set(index, { group: event.currentTarget.value })}
                />
              </div>
              <div>
                <label class="field-label" for={`${props.idPrefix}-${index}-role`}>
                  Role of {props.itemLabel.toLowerCase()} {index + 1}
                </label>
                <select
                  id={`${props.idPrefix}-${index}-role`}
                  class="field-input"
                  onChange={(event) => set(index, { role: event.currentTarget.value as Role })}
                >
                  <For each={ROLES}>
                    {(role) => (
                      <option value={role} selected={row().role === role}>
                        {ROLE_LABELS[role]}
                      </option>
                    )}
                  </For>
                </select>
              </div>
              <Button
                size="small"
                variant="ghost"
                ariaLabel={`Remove ${props.itemLabel.toLowerCase()} ${index + 1}`}
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
        onClick={() => props.onChange([...props.rows, { group: '', role: 'developer' }])}
      >
        Add a {props.itemLabel.toLowerCase()}
      </Button>
      {props.error ? <p class="field-error">{props.error}</p> : null}
    </fieldset>
  );
}
