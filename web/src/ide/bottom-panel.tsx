import { createEffect, createSignal, type JSX, Show } from 'solid-js';
import type { PanelTab } from './ide-layout-store.ts';

export interface BottomPanelProps {
  tab: PanelTab;
  onTab: (tab: PanelTab) => void;
  run: JSX.Element;
  /** Built on first use only, then kept (hidden) so the shell session survives switching tabs. */
  terminal: () => JSX.Element;
  /** Built while its tab shows, so the list is asked for fresh each time it is opened. */
  snapshots: () => JSX.Element;
  /** The listening ports and their previews; built on first use, then kept so a preview stays open. */
  ports?: () => JSX.Element;
  actions?: JSX.Element;
}

const TABS: ReadonlyArray<{ id: PanelTab; label: string }> = [
  { id: 'run', label: 'Run' },
  { id: 'terminal', label: 'Terminal' },
  { id: 'snapshots', label: 'Snapshots' },
  { id: 'ports', label: 'Ports' },
];

/** The Run and Terminal panels under the editor, as an ARIA tablist (arrow keys switch). */
export function BottomPanel(props: BottomPanelProps) {
  const [terminalUsed, setTerminalUsed] = createSignal(false);
  createEffect(() => {
    if (props.tab === 'terminal') setTerminalUsed(true);
  });
  const [portsUsed, setPortsUsed] = createSignal(false);
  createEffect(() => {
    if (props.tab === 'ports') setPortsUsed(true);
  });
  const select = (tab: PanelTab) => props.onTab(tab);

  return (
    <div class="bottom-panel">
      <div class="panel-tabs">
        <div role="tablist" aria-label="Panels" class="panel-tablist">
          {TABS.map((tab, index) => (
            <button
              type="button"
              role="tab"
              id={`panel-tab-${tab.id}`}
              class="panel-tab"
              aria-selected={props.tab === tab.id ? 'true' : 'false'}
              aria-controls={`panel-${tab.id}`}
              tabIndex={props.tab === tab.id ? 0 : -1}
              onClick={() => select(tab.id)}
              onKeyDown={(event) => {
                if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
                event.preventDefault();
                const next =
                  TABS[(index + (event.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length]!;
                select(next.id);
                document.getElementById(`panel-tab-${next.id}`)?.focus();
              }}
            >
              {tab.label}
            </button>
          ))}
        </div>
        <div class="panel-actions">{props.actions}</div>
      </div>
      <div
        role="tabpanel"
        id="panel-run"
        aria-labelledby="panel-tab-run"
        class="panel-body"
        classList={{ hidden: props.tab !== 'run' }}
      >
        {props.run}
      </div>
      <div
        role="tabpanel"
        id="panel-terminal"
        aria-labelledby="panel-tab-terminal"
        class="panel-body"
        classList={{ hidden: props.tab !== 'terminal' }}
      >
        <Show when={terminalUsed()}>{props.terminal()}</Show>
      </div>
      <div
        role="tabpanel"
        id="panel-snapshots"
        aria-labelledby="panel-tab-snapshots"
        class="panel-body"
        classList={{ hidden: props.tab !== 'snapshots' }}
      >
        <Show when={props.tab === 'snapshots'}>{props.snapshots()}</Show>
      </div>
      <div
        role="tabpanel"
        id="panel-ports"
        aria-labelledby="panel-tab-ports"
        class="panel-body"
        classList={{ hidden: props.tab !== 'ports' }}
      >
        <Show when={portsUsed()}>{props.ports?.()}</Show>
      </div>
    </div>
  );
}
