import type { AiDone, ChatMessage, LineRange } from '@keel/contract/ai';
import { type Accessor, createSignal } from 'solid-js';
import { createStore, produce } from 'solid-js/store';
import type { AiApi, AiRequest } from '../../api/ai-api.ts';
import type { Timers } from '../../api/browser-timers.ts';
import { type AiCall, startAiCall } from './ai-call.ts';
import { describeAiFailure, describeDoneFailure, isNotConfigured } from './ai-errors.ts';
import { describeTarget } from './line-range.ts';

export type TurnState =
  | 'waiting'
  | 'streaming'
  | 'reconnecting'
  | 'done'
  | 'failed'
  | 'cancelled'
  /** The page was reloaded while the answer was streaming. */
  | 'interrupted';

export interface Turn {
  id: string;
  kind: 'explain' | 'chat';
  /** What was asked, as shown: the typed question, or "Explain src/a.ts, lines 3–9". */
  prompt: string;
  /** The files this turn is about; later questions get them as context. */
  paths: string[];
  /** For an explain: what to send again on a retry. */
  target?: { path: string; range?: LineRange; question?: string };
  answer: string;
  state: TurnState;
  /** Why the turn failed, in words. */
  error?: string;
  model?: string;
}

export type AiAvailability =
  | { status: 'unknown' }
  | { status: 'checking' }
  | { status: 'ready'; model: string | null }
  | { status: 'not-configured'; hint: string | null }
  /** The config could not be read; asking may still work. */
  | { status: 'unavailable'; error: string };

export interface ConversationStore {
  turns: Accessor<readonly Turn[]>;
  availability: Accessor<AiAvailability>;
  /** Whether an answer is on its way (one at a time). */
  busy: Accessor<boolean>;
  cancelling: Accessor<boolean>;
  /** Reads GET /api/ai/config (again). */
  checkConfig(): Promise<void>;
  /** Asks a question, with the conversation so far and the files it is about (plus `paths`) as context. */
  ask(question: string, options?: { paths?: readonly string[] }): Promise<void>;
  explain(path: string, range?: LineRange, question?: string): Promise<void>;
  /** Asks the last failed, cancelled or interrupted turn again. */
  retry(): Promise<void>;
  /** Cancels the answer in progress (the model call stops on the server). */
  stop(): Promise<void>;
  /** Forgets the conversation (not while an answer is on its way). */
  clear(): void;
  /** The conversation as a Markdown document, for saving into the workspace. */
  toMarkdown(heading: string): string;
  dispose(): void;
}

export interface ConversationStoreOptions {
  ai: AiApi;
  workspaceId: string;
  /** Where the conversation is kept across reloads of this tab (sessionStorage in the browser). */
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | undefined;
  timers?: Timers;
  retryDelaysMs?: readonly number[];
}

const MAX_KEPT_TURNS = 50;
const MAX_MESSAGES = 100;
const MAX_MESSAGE_CHARS = 64_000;
const MAX_CONTEXT_PATHS = 20;
const STORAGE_VERSION = 1;

export function conversationStorageKey(workspaceId: string): string {
  return `keel.ai.conversation.${workspaceId}`;
}

/**
 * The AI panel's conversation: questions and streamed answers, kept in this browser tab only (memory and
 * sessionStorage, per workspace); nothing of it is stored by the server. Answers grow token by token in a
 * fine-grained store, so only the answer being written re-renders.
 */
export function createConversationStore(options: ConversationStoreOptions): ConversationStore {
  const key = conversationStorageKey(options.workspaceId);
  const [state, setState] = createStore<{ turns: Turn[] }>({ turns: readStored(options.storage, key) });
  const [availability, setAvailability] = createSignal<AiAvailability>({ status: 'unknown' });
  const [busy, setBusy] = createSignal(false);
  const [cancelling, setCancelling] = createSignal(false);
  let call: AiCall | undefined;
  let counter = state.turns.length;

  function update(id: string, change: Partial<Turn>): void {
    setState('turns', (turn) => turn.id === id, change);
  }

  function persist(): void {
    if (options.storage === undefined) return;
    try {
      const kept = state.turns.slice(-MAX_KEPT_TURNS).map((turn) => ({
        ...turn,
        state: isActive(turn.state) ? 'interrupted' : turn.state,
      }));
      if (kept.length === 0) options.storage.removeItem(key);
      else options.storage.setItem(key, JSON.stringify({ v: STORAGE_VERSION, turns: kept }));
    } catch {
      // A full or unavailable storage only means the conversation does not survive a reload.
    }
  }

  async function checkConfig(): Promise<void> {
    setAvailability({ status: 'checking' });
    try {
      const config = await options.ai.config(options.workspaceId);
      setAvailability(
        config.configured
          ? { status: 'ready', model: config.model }
          : { status: 'not-configured', hint: config.hint },
      );
    } catch (error) {
      setAvailability(
        isNotConfigured(error)
          ? { status: 'not-configured', hint: (error as Error).message || null }
          : { status: 'unavailable', error: describeAiFailure(error) },
      );
    }
  }

  /** Runs one turn's model call to its end. */
  async function run(id: string, request: AiRequest): Promise<void> {
    setBusy(true);
    setCancelling(false);
    let finished = false;
    const current = startAiCall(
      options.ai,
      request,
      {
        onMeta: (meta) => update(id, { model: meta.model }),
        onToken: (text) =>
          setState(
            'turns',
            (turn) => turn.id === id,
            produce((turn) => {
              turn.answer += text;
              turn.state = 'streaming';
            }),
          ),
        onDone: (done) => {
          finished = true;
          settle(id, done);
        },
        onStateChange: (follow) => {
          if (follow === 'reconnecting') update(id, { state: 'reconnecting' });
          else if (follow === 'streaming' && turn(id)?.state === 'reconnecting')
            update(id, { state: 'streaming' });
        },
        onFailure: (error) => {
          finished = true;
          if (isNotConfigured(error))
            setAvailability({ status: 'not-configured', hint: (error as Error).message || null });
          update(id, { state: 'failed', error: describeAiFailure(error) });
        },
      },
      { timers: options.timers, retryDelaysMs: options.retryDelaysMs },
    );
    call = current;
    await current.done;
    if (call === current) call = undefined;
    // Stopped from here (dispose) before anything ended it: what arrived is all there is.
    if (!finished) update(id, { state: 'interrupted' });
    setBusy(false);
    setCancelling(false);
    persist();
  }

  function settle(id: string, done: AiDone): void {
    if (done.outcome === 'success') {
      update(id, { state: 'done' });
      const model = turn(id)?.model;
      if (availability().status !== 'ready') setAvailability({ status: 'ready', model: model ?? null });
      return;
    }
    if (done.outcome === 'cancelled') {
      update(id, { state: 'cancelled' });
      return;
    }
    if (done.error?.code === 'ai_not_configured')
      setAvailability({ status: 'not-configured', hint: done.error.message || null });
    update(id, { state: 'failed', error: describeDoneFailure(done) });
  }

  function turn(id: string): Turn | undefined {
    return state.turns.find((t) => t.id === id);
  }

  function addTurn(fields: Pick<Turn, 'kind' | 'prompt' | 'paths'> & Pick<Partial<Turn>, 'target'>): string {
    counter += 1;
    const id = `turn-${Date.now().toString(36)}-${counter}`;
    setState('turns', (turns) => [...turns, { id, answer: '', state: 'waiting', ...fields }]);
    persist();
    return id;
  }

  /** The conversation so far as chat messages: answered turns only, newest last, within the API's limits. */
  function history(): ChatMessage[] {
    const messages: ChatMessage[] = [];
    for (const t of state.turns) {
      if (t.state !== 'done' || t.answer.trim() === '') continue;
      messages.push({ role: 'user', content: t.prompt.slice(0, MAX_MESSAGE_CHARS) });
      messages.push({ role: 'assistant', content: t.answer.slice(0, MAX_MESSAGE_CHARS) });
    }
    return messages.slice(-(MAX_MESSAGES - 1));
  }

  function contextPaths(extra: readonly string[]): string[] {
    const ordered = [...state.turns.flatMap((t) => t.paths), ...extra];
    // The most recent mentions win when there are more files than the API takes.
    const unique = [...new Set(ordered.reverse())].slice(0, MAX_CONTEXT_PATHS);
    return unique.reverse();
  }

  async function ask(question: string, askOptions: { paths?: readonly string[] } = {}): Promise<void> {
    const text = question.trim();
    if (text === '' || busy()) return;
    const messages = [...history(), { role: 'user' as const, content: text.slice(0, MAX_MESSAGE_CHARS) }];
    const paths = contextPaths(askOptions.paths ?? []);
    const id = addTurn({ kind: 'chat', prompt: text, paths: [...(askOptions.paths ?? [])] });
    await run(id, {
      kind: 'chat',
      body: { workspaceId: options.workspaceId, messages, ...(paths.length > 0 ? { paths } : {}) },
    });
  }

  async function explain(path: string, range?: LineRange, question?: string): Promise<void> {
    if (busy()) return;
    const asked = question?.trim() || undefined;
    const prompt = `Explain ${describeTarget(path, range)}${asked ? `: ${asked}` : ''}`;
    const target = { path, ...(range ? { range } : {}), ...(asked ? { question: asked } : {}) };
    const id = addTurn({ kind: 'explain', prompt, paths: [path], target });
    await run(id, { kind: 'explain', body: { workspaceId: options.workspaceId, ...target } });
  }

  return {
    turns: () => state.turns,
    availability,
    busy,
    cancelling,
    checkConfig,
    ask,
    explain,
    async retry() {
      const last = state.turns[state.turns.length - 1];
      if (last === undefined || busy() || last.state === 'done') return;
      setState('turns', (turns) => turns.slice(0, -1));
      if (last.kind === 'explain' && last.target)
        await explain(last.target.path, last.target.range, last.target.question);
      else await ask(last.prompt, { paths: last.paths });
    },
    async stop() {
      const current = call;
      if (current === undefined) return;
      setCancelling(true);
      try {
        await current.cancel();
      } catch (error) {
        // The server could not be told: stop reading at least; the caller says the answer may go on there.
        current.stop();
        setCancelling(false);
        throw error;
      }
    },
    clear() {
      if (busy()) return;
      setState('turns', []);
      persist();
    },
    toMarkdown: (heading) => conversationMarkdown(heading, state.turns),
    dispose() {
      call?.stop();
    },
  };
}

function isActive(state: TurnState): boolean {
  return state === 'waiting' || state === 'streaming' || state === 'reconnecting';
}

const TURN_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'streaming',
  'reconnecting',
  'done',
  'failed',
  'cancelled',
  'interrupted',
]);

function readStored(storage: Pick<Storage, 'getItem'> | undefined, key: string): Turn[] {
  try {
    const raw = storage?.getItem(key);
    if (!raw) return [];
    const stored = JSON.parse(raw) as { v?: unknown; turns?: unknown };
    if (stored.v !== STORAGE_VERSION || !Array.isArray(stored.turns)) return [];
    return stored.turns.filter(isTurn).map((turn) => ({
      ...turn,
      state: isActive(turn.state) ? 'interrupted' : turn.state,
    }));
  } catch {
    return [];
  }
}

function isTurn(value: unknown): value is Turn {
  if (typeof value !== 'object' || value === null) return false;
  const turn = value as Record<string, unknown>;
  return (
    typeof turn.id === 'string' &&
    (turn.kind === 'explain' || turn.kind === 'chat') &&
    typeof turn.prompt === 'string' &&
    typeof turn.answer === 'string' &&
    typeof turn.state === 'string' &&
    TURN_STATES.has(turn.state) &&
    Array.isArray(turn.paths) &&
    turn.paths.every((path) => typeof path === 'string')
  );
}

const STATE_NOTES: Partial<Record<TurnState, string>> = {
  failed: 'No answer',
  cancelled: 'Stopped before the end',
  interrupted: 'Interrupted',
};

/** A readable document: each question quoted, each answer as written (it is Markdown already). */
export function conversationMarkdown(heading: string, turns: readonly Turn[]): string {
  const parts = [`# ${heading}`];
  for (const turn of turns) {
    parts.push(
      '## Question',
      turn.prompt
        .split('\n')
        .map((line) => `> ${line}`.trimEnd())
        .join('\n'),
    );
    parts.push(turn.model ? `## Answer (${turn.model})` : '## Answer');
    if (turn.answer.trim() !== '') parts.push(turn.answer.trim());
    const note = STATE_NOTES[turn.state];
    if (note) parts.push(`_${note}${turn.error ? `: ${turn.error}` : ''}._`);
  }
  return `${parts.join('\n\n')}\n`;
}
