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
  /** As typed (a number in words until built). */
  cpuOvercommit: Accessor<string>;
  setCpuOvercommit: (value: string) => void;
  memoryOvercommit: Accessor<string>;
  setMemoryOvercommit: (value: string) => void;
  /** The policy as typed, or what is wrong with it (in words, naming the list). */
  build(): { ok: true; policy: PlacementPolicy } | { ok: false; message: string };
}

/** A policy being edited, starting from `start`. */
export function createPolicyDraft(start: PlacementPolicy): PolicyDraft {
  const [strategy, setStrategy] = createSignal<PlacementStrategy>(start.strategy);
  const [required, setRequired] = createSignal<LabelRow[]>(rowsFromLabels(start.requiredLabels));
  const [preferred, setPreferred] = createSignal<LabelRow[]>(rowsFromLabels(start.preferredLabels));
  const [cpuOvercommit, setCpuOvercommit] = createSignal(String(start.cpuOvercommit));
  const [memoryOvercommit, setMemoryOvercommit] = createSignal(String(start.memoryOvercommit));
  return {
    strategy,
    setStrategy,
    required,
    setRequired,
    preferred,
    setPreferred,
    cpuOvercommit,
    setCpuOvercommit,
    memoryOvercommit,
    setMemoryOvercommit,
    build() {
      const req = labelsFromRows(required());
      if (!req.ok) return { ok: false, message: `Required labels: ${req.message}` };
      const pref = labelsFromRows(preferred());
      if (!pref.ok) return { ok: false, message: `Preferred labels: ${pref.message}` };
      const cpu = Number(cpuOvercommit());
      if (!Number.isFinite(cpu) || cpu < 1 || cpu > 64)
        return { ok: false, message: 'CPU overcommit: a number from 1 to 64' };
      const memory = Number(memoryOvercommit());
      if (!Number.isFinite(memory) || memory < 1 || memory > 16)
        return { ok: false, message: 'Memory overcommit: a number from 1 to 16' };
      return {
        ok: true,
        policy: {
          strategy: strategy(),
          requiredLabels: req.labels,
          preferredLabels: pref.labels,
          cpuOvercommit: cpu,
          memoryOvercommit: memory,
        },
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
      <OvercommitField
        id={`${props.idPrefix}-cpu-overcommit`}
        label="CPU overcommit"
        hint="CPUs workspaces may ask for per CPU of a runner (a workspace's CPUs are a ceiling, not a reservation)."
        max={64}
        value={props.draft.cpuOvercommit()}
        onInput={props.draft.setCpuOvercommit}
      />
      <OvercommitField
        id={`${props.idPrefix}-memory-overcommit`}
        label="Memory overcommit"
        hint="Memory workspaces may ask for per MB of a runner."
        max={16}
        value={props.draft.memoryOvercommit()}
        onInput={props.draft.setMemoryOvercommit}
      />
    </>
  );
}

function OvercommitField(props: {
  id: string;
  label: string;
  hint: string;
  max: number;
  value: string;
  onInput: (value: string) => void;
}) {
  return (
    <div class="field">
      <label class="field-label" for={props.id}>
        {props.label}
      </label>
      <input
        id={props.id}
        type="number"
        class="field-input"
        min={1}
        max={props.max}
        step="0.1"
        inputMode="decimal"
        value={props.value}
        aria-describedby={`${props.id}-hint`}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      <p id={`${props.id}-hint`} class="field-hint">
        {props.hint}
      </p>
    </div>
  );
}
