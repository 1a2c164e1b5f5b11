import { type Accessor, createSignal } from 'solid-js';

export interface AiPanelLayout {
  open: boolean;
  width: number;
}

export const AI_PANEL_WIDTH = { min: 260, max: 900 } as const;
const DEFAULT_LAYOUT: AiPanelLayout = { open: false, width: 380 };
const STORAGE_KEY = 'keel.ide.ai-panel';

/** Whether the AI panel is open and how wide, kept across visits like the rest of the IDE's layout. */
export function createAiPanelLayout(storage?: Pick<Storage, 'getItem' | 'setItem'>): {
  layout: Accessor<AiPanelLayout>;
  set(change: Partial<AiPanelLayout>): void;
} {
  const [layout, setLayout] = createSignal<AiPanelLayout>(read(storage));
  return {
    layout,
    set(change) {
      const next = clamp({ ...layout(), ...change });
      setLayout(next);
      try {
        storage?.setItem(STORAGE_KEY, JSON.stringify(next));
      } catch {
        // Unavailable storage only means the layout is not remembered.
      }
    },
  };
}

function read(storage?: Pick<Storage, 'getItem'>): AiPanelLayout {
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    if (!raw) return DEFAULT_LAYOUT;
    const stored = JSON.parse(raw) as Partial<Record<keyof AiPanelLayout, unknown>>;
    return clamp({
      open: typeof stored.open === 'boolean' ? stored.open : DEFAULT_LAYOUT.open,
      width: typeof stored.width === 'number' ? stored.width : DEFAULT_LAYOUT.width,
    });
  } catch {
    return DEFAULT_LAYOUT;
  }
}

function clamp(layout: AiPanelLayout): AiPanelLayout {
  const width = Number.isFinite(layout.width) ? layout.width : DEFAULT_LAYOUT.width;
  return { ...layout, width: Math.round(Math.min(AI_PANEL_WIDTH.max, Math.max(AI_PANEL_WIDTH.min, width))) };
}
