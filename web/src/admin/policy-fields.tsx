import type { PlacementPolicy, PlacementStrategy } from '@keel/contract/placement';
import { type Accessor, createSignal } from 'solid-js';
import { ChoiceGroup } from './form-fields.tsx';
import { type LabelRow, labelsFromRows, rowsFromLabels } from './label-rows.ts';
import { LabelRowsEditor } from './label-rows-editor.tsx';

export const STRATEGY_NAMES: Record<PlacementStrategy, string> = {
  'least-loaded': 'Least loaded',
  'round-robin': 'Round robin',
};

const STRATEGIES: ReadonlyArray<{ value: PlacementStrategy; title: string; hint: string }> = [
  {
    value: 'least-loaded',
    title: STRATEGY_NAMES['least-loaded'],
    hint: 'The runner with the most free CPU, memory and disk after the workspace is placed.',
  },
  { value: 'round-robin', title: STRATEGY_NAMES['round-robin'], hint: 'Each eligible runner in turn.' },
];

export interface PolicyDraft {
  strategy: Accessor<PlacementStrategy>;
  setStrategy: (strategy: PlacementStrategy) => void;
  required: Accessor<LabelRow[]>;
  setRequired: (rows: LabelRow[]) => void;
  preferred: Accessor<LabelRow[]>;
  setPreferred: (rows: LabelRow[]) => void;
  /** The policy as typed, or what is wrong with it (in words, naming the list). */
  build(): { ok: true; policy: PlacementPolicy } | { ok: false; message: string };
}

/** A policy being edited, starting from `start`. */
export function createPolicyDraft(start: PlacementPolicy): PolicyDraft {
  const [strategy, setStrategy] = createSignal<PlacementStrategy>(start.strategy);
  const [required, setRequired] = createSignal<LabelRow[]>(rowsFromLabels(start.requiredLabels));
  const [preferred, setPreferred] = createSignal<LabelRow[]>(rowsFromLabels(start.preferredLabels));
  return {
    strategy,
    setStrategy,
    required,
    setRequired,
    preferred,
    setPreferred,
    build() {
      const req = labelsFromRows(required());
      if (!req.ok) return { ok: false, message: `Required labels: ${req.message}` };
      const pref = labelsFromRows(preferred());
      if (!pref.ok) return { ok: false, message: `Preferred labels: ${pref.message}` };
      return {
        ok: true,
        policy: { strategy: strategy(), requiredLabels: req.labels, preferredLabels: pref.labels },
      };
    },
  };
}

/** The strategy and the two label lists of a placement policy; `idPrefix` keeps ids unique per page. */
export function PolicyFields(props: { draft: PolicyDraft; idPrefix: string }) {
  return (
    <>
      <ChoiceGroup
        legend="Strategy"
        name={`${props.idPrefix}-strategy`}
        value={props.draft.strategy()}
        choices={STRATEGIES}
        onChange={props.draft.setStrategy}
      />
      <LabelRowsEditor
        legend="Required labels"
        name="Required label"
        idPrefix={`${props.idPrefix}-required`}
        hint="A runner must have every one (region=eu-west, say) to take the workspaces."
        rows={props.draft.required()}
        onChange={props.draft.setRequired}
      />
      <LabelRowsEditor
        legend="Preferred labels"
        name="Preferred label"
        idPrefix={`${props.idPrefix}-preferred`}
        hint="Runners with more of these come first; the strategy decides among equals."
        rows={props.draft.preferred()}
        onChange={props.draft.setPreferred}
      />
    </>
  );
}
