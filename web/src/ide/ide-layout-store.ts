import { type Accessor, createSignal } from 'solid-js';

export type PanelTab = 'run' | 'terminal' | 'snapshots' | 'ports';

export interface IdeLayout {
  sidebarWidth: number;
  sidebarOpen: boolean;
  panelHeight: number;
  panelOpen: boolean;
  panelTab: PanelTab;
}

export interface IdeLayoutStore {
  layout: Accessor<IdeLayout>;
  set(change: Partial<IdeLayout>): void;
}

export const LAYOUT_LIMITS = {
  sidebarWidth: { min: 160, max: 640 },
  panelHeight: { min: 96, max: 900 },
} as const;

const DEFAULT_LAYOUT: IdeLayout = {
  sidebarWidth: 260,
  sidebarOpen: true,
  panelHeight: 260,
  panelOpen: true,
  panelTab: 'run',
};
const STORAGE_KEY = 'keel.ide.layout';

/** Pane sizes and which panels are open, kept across visits so the IDE opens the way it was left. */
export function createIdeLayoutStore(storage?: Pick<Storage, 'getItem' | 'setItem'>): IdeLayoutStore {
  const [layout, setLayout] = createSignal<IdeLayout>(readLayout(storage));
  return {
    layout,
    set(change) {
      const next = clampLayout({ ...layout(), ...change });
      setLayout(next);
      try {
        storage?.setItem(STORAGE_KEY, JSON.stringify(next));
      } catch {
        // Unavailable storage only means the layout is not remembered.
      }
    },
  };
}

function readLayout(storage?: Pick<Storage, 'getItem'>): IdeLayout {
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    if (!raw) return DEFAULT_LAYOUT;
    const stored = JSON.parse(raw) as Partial<Record<keyof IdeLayout, unknown>>;
    return clampLayout({
      sidebarWidth:
        typeof stored.sidebarWidth === 'number' ? stored.sidebarWidth : DEFAULT_LAYOUT.sidebarWidth,
      sidebarOpen: typeof stored.sidebarOpen === 'boolean' ? stored.sidebarOpen : DEFAULT_LAYOUT.sidebarOpen,
      panelHeight: typeof stored.panelHeight === 'number' ? stored.panelHeight : DEFAULT_LAYOUT.panelHeight,
      panelOpen: typeof stored.panelOpen === 'boolean' ? stored.panelOpen : DEFAULT_LAYOUT.panelOpen,
      panelTab: stored.panelTab === 'terminal' || stored.panelTab === 'snapshots' ? stored.panelTab : 'run',
    });
  } catch {
    return DEFAULT_LAYOUT;
  }
}

function clampLayout(layout: IdeLayout): IdeLayout {
  const clamp = (value: number, { min, max }: { min: number; max: number }) =>
    Math.round(Math.min(max, Math.max(min, Number.isFinite(value) ? value : min)));
  return {
    ...layout,
    sidebarWidth: clamp(layout.sidebarWidth, LAYOUT_LIMITS.sidebarWidth),
    panelHeight: clamp(layout.panelHeight, LAYOUT_LIMITS.panelHeight),
  };
}
