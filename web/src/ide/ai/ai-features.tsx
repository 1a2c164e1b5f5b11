import type { LineRange } from '@keel/contract/ai';
import { createSignal, onCleanup, Show } from 'solid-js';
import type { Apis } from '../../api/api-context.ts';
import { ConfirmDialog } from '../../components/confirm-dialog.tsx';
import { IconButton } from '../../components/icon-button.tsx';
import { PromptDialog } from '../../components/prompt-dialog.tsx';
import { ResizeHandle } from '../../components/resize-handle.tsx';
import type { Theme } from '../../theme/theme-store.ts';
import type { CodeEditorInstance } from '../code-editor.tsx';
import type { EditorTabsStore } from '../editor-tabs-store.ts';
import { parentOf } from '../workspace-paths.ts';
import { SparkIcon } from './ai-icons.tsx';
import { AiPanel } from './ai-panel.tsx';
import { AI_PANEL_WIDTH, createAiPanelLayout } from './ai-panel-layout.ts';
import { createConversationStore } from './conversation-store.ts';
import { describeTarget, linesOfSelection } from './line-range.ts';
import { RewriteReview } from './rewrite-review.tsx';
import { createRewriteStore } from './rewrite-store.ts';
import { chatFileProblem, defaultChatPath } from './save-conversation.ts';

export interface AiFeaturesOptions {
  apis: Apis;
  workspaceId: string;
  workspaceName: string;
  tabs: EditorTabsStore;
  /** Shows files written here (a saved conversation, a rewritten file) in the tree. */
  refreshFolder: (path: string) => void;
  /** How the panel's shortcut reads on this platform, e.g. "Alt+A". */
  toggleKeys: string;
  /** Where the panel's layout and the conversation are kept; the browser's storages by default. */
  storage?: { local?: Storage | undefined; session?: Storage | undefined };
}

/** What a question about unsaved changes is for. */
interface PendingSave {
  path: string;
  purpose: 'explanation' | 'rewrite';
  resolve: (go: boolean) => void;
}

/**
 * The AI features of the IDE, wired once per workbench: the side panel (explain, chat), "Rewrite
 * selection…" with its review, the editor's context-menu actions, and the dialogs they ask through.
 */
export function createAiFeatures(options: AiFeaturesOptions) {
  const { apis, workspaceId, tabs } = options;
  const storage = options.storage ?? browserStorage();
  const conversation = createConversationStore({
    ai: apis.ai,
    workspaceId,
    storage: storage.session,
  });
  const rewrite = createRewriteStore({
    ai: apis.ai,
    patch: apis.patch,
    files: apis.files,
    workspaceId,
    onApplied: async (path) => {
      options.refreshFolder(parentOf(path));
      // The tab had no unsaved changes (that was checked before asking), so reloading loses nothing.
      if (tabs.tab(path) !== undefined) await tabs.reload(path);
    },
  });
  const panel = createAiPanelLayout(storage.local);
  const [pendingSave, setPendingSave] = createSignal<PendingSave>();
  const [rewriteAsk, setRewriteAsk] = createSignal<{ path: string; range: LineRange | undefined }>();
  const [saveAsOpen, setSaveAsOpen] = createSignal(false);
  const [panelNotice, setPanelNotice] = createSignal<string>();
  let editor: CodeEditorInstance | undefined;
  let questionInput: HTMLTextAreaElement | undefined;

  void conversation.checkConfig();
  onCleanup(() => {
    conversation.dispose();
    rewrite.dispose();
  });

  function showPanel(focusQuestion = false): void {
    panel.set({ open: true });
    if (focusQuestion) queueMicrotask(() => questionInput?.focus());
  }

  function togglePanel(): void {
    const open = !panel.layout().open;
    panel.set({ open });
    if (open) queueMicrotask(() => questionInput?.focus());
  }

  /** The active file and the lines selected in it (none: the whole file). */
  function selection(): { path: string; range: LineRange | undefined } | undefined {
    const path = tabs.active();
    const tab = path === undefined ? undefined : tabs.tab(path);
    if (path === undefined || tab?.status !== 'ready' || tab.binary) return undefined;
    return { path, range: linesOfSelection(editor?.getSelection()) };
  }

  /** Resolves true once the file has no unsaved changes (saved now, if the person agrees). */
  function savedFirst(path: string, purpose: PendingSave['purpose']): Promise<boolean> {
    if (!tabs.isDirty(path)) return Promise.resolve(true);
    return new Promise((resolve) => setPendingSave({ path, purpose, resolve }));
  }

  function notConfigured(): boolean {
    return conversation.availability().status === 'not-configured';
  }

  async function explainSelection(): Promise<void> {
    const target = selection();
    if (target === undefined) return;
    if (notConfigured()) return showPanel();
    if (!(await savedFirst(target.path, 'explanation'))) return;
    showPanel();
    void conversation.explain(target.path, target.range);
  }

  async function rewriteSelection(): Promise<void> {
    const target = selection();
    if (target === undefined) return;
    if (notConfigured()) return showPanel();
    // One rewrite at a time: the one under review (or on its way) comes first.
    if (rewrite.state().phase !== 'idle') return;
    if (!(await savedFirst(target.path, 'rewrite'))) return;
    setRewriteAsk(target);
  }

  function setupEditor(instance: CodeEditorInstance): void {
    editor = instance;
    instance.addAction({
      id: 'keel.ai.explain-selection',
      label: 'Explain selection',
      contextMenuGroupId: 'keel-ai',
      contextMenuOrder: 1,
      run: () => void explainSelection(),
    });
    instance.addAction({
      id: 'keel.ai.rewrite-selection',
      label: 'Rewrite selection…',
      contextMenuGroupId: 'keel-ai',
      contextMenuOrder: 2,
      run: () => void rewriteSelection(),
    });
  }

  async function saveConversation(typed: string): Promise<void> {
    const path = typed.trim();
    const date = new Date().toISOString().slice(0, 10);
    const markdown = conversation.toMarkdown(`Conversation in ${options.workspaceName}, ${date}`);
    await apis.files.write(workspaceId, path, markdown);
    setSaveAsOpen(false);
    setPanelNotice(`Saved to ${path}`);
    options.refreshFolder(parentOf(path));
  }

  /** The side panel, or the rail with its button when closed; goes at the right of the IDE's body. */
  function Sidebar() {
    return (
      <Show
        when={panel.layout().open}
        fallback={
          <div class="ai-rail">
            <IconButton label={`Show the AI panel (${options.toggleKeys})`} onClick={() => showPanel(true)}>
              <SparkIcon />
            </IconButton>
          </div>
        }
      >
        <ResizeHandle
          orientation="vertical"
          label="Resize the AI panel"
          controls="ide-ai"
          value={panel.layout().width}
          min={AI_PANEL_WIDTH.min}
          max={AI_PANEL_WIDTH.max}
          growsTowardStart
          onResize={(width) => panel.set({ width })}
        />
        <aside
          id="ide-ai"
          class="ai-sidebar"
          aria-labelledby="ai-panel-title"
          style={{ width: `${panel.layout().width}px` }}
        >
          <AiPanel
            conversation={conversation}
            activeFile={selection()?.path}
            toggleKeys={options.toggleKeys}
            notice={panelNotice()}
            onDismissNotice={() => setPanelNotice(undefined)}
            onSave={() => {
              setPanelNotice(undefined);
              setSaveAsOpen(true);
            }}
            onClose={() => panel.set({ open: false })}
            textareaRef={(element) => {
              questionInput = element;
            }}
          />
        </aside>
      </Show>
    );
  }

  /** The rewrite's progress and review, over the editor. */
  function Review(props: { theme: Theme }) {
    return <RewriteReview rewrite={rewrite} theme={props.theme} onShowSetup={() => showPanel()} />;
  }

  function Dialogs() {
    return (
      <>
        <Show when={pendingSave()}>
          {(pending) => {
            const finish = (go: boolean) => {
              setPendingSave(undefined);
              pending().resolve(go);
            };
            return (
              <ConfirmDialog
                open
                title={`Save ${pending().path} first?`}
                confirmLabel="Save and continue"
                pendingLabel="Saving…"
                onConfirm={async () => {
                  const outcome = await tabs.save(pending().path);
                  // A save conflict shows its own view in the editor; the request waits for it to be settled.
                  if (outcome === 'conflict') tabs.activate(pending().path);
                  finish(outcome !== 'conflict');
                }}
                onCancel={() => finish(false)}
              >
                <p>
                  The {pending().purpose} is made from the file as saved in the workspace, so your unsaved
                  changes would be left out of it.
                </p>
              </ConfirmDialog>
            );
          }}
        </Show>
        <Show when={rewriteAsk()}>
          {(ask) => (
            <PromptDialog
              open
              title={`Rewrite ${describeTarget(ask().path, ask().range)}`}
              label="What should change?"
              hint="The change is shown for review first; nothing is written until you accept it."
              submitLabel="Rewrite"
              pendingLabel="Starting…"
              onSubmit={async (instruction) => {
                const { path, range } = ask();
                setRewriteAsk(undefined);
                void rewrite.start({ path, range, instruction: instruction.trim() });
              }}
              onCancel={() => setRewriteAsk(undefined)}
            />
          )}
        </Show>
        <PromptDialog
          open={saveAsOpen()}
          title="Save the conversation"
          label="Path in the workspace"
          initialValue={defaultChatPath(new Date())}
          hint="Written as Markdown. A file already at this path is replaced."
          submitLabel="Save"
          pendingLabel="Saving…"
          validate={chatFileProblem}
          onSubmit={saveConversation}
          onCancel={() => setSaveAsOpen(false)}
        />
      </>
    );
  }

  return {
    conversation,
    rewrite,
    panelOpen: () => panel.layout().open,
    togglePanel,
    explainSelection: () => void explainSelection(),
    rewriteSelection: () => void rewriteSelection(),
    /** Whether there is a text file to explain or rewrite. */
    canUseSelection: () => selection() !== undefined,
    setupEditor,
    Sidebar,
    Review,
    Dialogs,
  };
}

/** localStorage and sessionStorage, each undefined where the browser refuses access (storage disabled). */
function browserStorage(): { local?: Storage | undefined; session?: Storage | undefined } {
  const get = (name: 'localStorage' | 'sessionStorage') => {
    try {
      return window[name];
    } catch {
      return undefined;
    }
  };
  return { local: get('localStorage'), session: get('sessionStorage') };
}
