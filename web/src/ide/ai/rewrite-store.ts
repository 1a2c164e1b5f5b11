import type { LineRange, RewriteResult } from '@keel/contract/ai';
import { type Accessor, createSignal } from 'solid-js';
import type { AiApi } from '../../api/ai-api.ts';
import { ApiError } from '../../api/api-error.ts';
import type { Timers } from '../../api/browser-timers.ts';
import type { FilesApi } from '../../api/files-api.ts';
import type { PatchApi } from '../../api/patch-api.ts';
import { errorMessage } from '../../forms/error-message.ts';
import { type AiCall, startAiCall } from './ai-call.ts';
import { describeAiFailure, describeDoneFailure, isNotConfigured } from './ai-errors.ts';
import { describeTarget } from './line-range.ts';
import { applyUnifiedDiff } from './unified-diff.ts';

export interface RewriteTarget {
  path: string;
  range?: LineRange | undefined;
  instruction: string;
}

export type RewriteState =
  | { phase: 'idle' }
  | {
      phase: 'streaming';
      target: RewriteTarget;
      /** The model's code so far, as it arrives. */
      progress: string;
      reconnecting: boolean;
      cancelling: boolean;
    }
  | {
      phase: 'review';
      target: RewriteTarget;
      result: RewriteResult;
      /** The file as it is on the server (at `result.baseSha256`). */
      original: string;
      /** The file with the change applied: what Accept writes. */
      modified: string;
      applying: boolean;
      /** Why the last Accept failed when trying again may help (the network). */
      error?: string;
    }
  /** The file changed since the rewrite was made: nothing was written; a retry rewrites the new version. */
  | { phase: 'stale'; target: RewriteTarget; message: string }
  | { phase: 'failed'; target: RewriteTarget; message: string; notConfigured: boolean };

export interface RewriteStore {
  state: Accessor<RewriteState>;
  /** Asks for a rewrite; settles once the change is ready for review, or failed. */
  start(target: RewriteTarget): Promise<void>;
  cancel(): Promise<void>;
  /** Applies the reviewed change with the base hash it was made from; true when it was written. */
  accept(): Promise<boolean>;
  /** Throws the change away; nothing was written. */
  reject(): void;
  /** Asks again with the same instruction, against the file as it is now. */
  retry(): Promise<void>;
  dismiss(): void;
  dispose(): void;
}

export interface RewriteStoreOptions {
  ai: AiApi;
  patch: PatchApi;
  files: FilesApi;
  workspaceId: string;
  /** Called once a change was written, e.g. to reload the file's tab. */
  onApplied?: (path: string) => void | Promise<void>;
  timers?: Timers;
  retryDelaysMs?: readonly number[];
}

/**
 * A rewrite from instruction to written file: the model's progress streams in, the resulting diff is
 * previewed against the file it was made from, and only Accept writes it, through the patch route with the
 * base hash, so a file that changed in the meantime is refused rather than overwritten.
 */
export function createRewriteStore(options: RewriteStoreOptions): RewriteStore {
  const [state, setState] = createSignal<RewriteState>({ phase: 'idle' });
  let call: AiCall | undefined;
  let generation = 0;

  function patchStreaming(change: Partial<Extract<RewriteState, { phase: 'streaming' }>>): void {
    const current = state();
    if (current.phase === 'streaming') setState({ ...current, ...change });
  }

  async function start(target: RewriteTarget): Promise<void> {
    call?.stop();
    generation += 1;
    const mine = generation;
    setState({ phase: 'streaming', target, progress: '', reconnecting: false, cancelling: false });
    let result: RewriteResult | undefined;
    let outcome: { done: true; failed?: string; notConfigured?: boolean; cancelled?: boolean } | undefined;
    const current = startAiCall(
      options.ai,
      {
        kind: 'rewrite',
        body: {
          workspaceId: options.workspaceId,
          path: target.path,
          instruction: target.instruction,
          ...(target.range ? { range: target.range } : {}),
        },
      },
      {
        onToken: (text) => {
          const now = state();
          if (now.phase === 'streaming') patchStreaming({ progress: now.progress + text });
        },
        onResult: (received) => {
          result = received;
        },
        onDone: (done) => {
          if (done.outcome === 'success') outcome = { done: true };
          else if (done.outcome === 'cancelled') outcome = { done: true, cancelled: true };
          else
            outcome = {
              done: true,
              failed: describeDoneFailure(done),
              notConfigured: done.error?.code === 'ai_not_configured',
            };
        },
        onStateChange: (follow) => patchStreaming({ reconnecting: follow === 'reconnecting' }),
        onFailure: (error) => {
          outcome = { done: true, failed: describeAiFailure(error), notConfigured: isNotConfigured(error) };
        },
      },
      { timers: options.timers, retryDelaysMs: options.retryDelaysMs },
    );
    call = current;
    await current.done;
    if (call === current) call = undefined;
    // Replaced by a newer rewrite, or stopped from here: the newer one owns the state now.
    if (mine !== generation || outcome === undefined) {
      if (mine === generation) setState({ phase: 'idle' });
      return;
    }
    if (outcome.cancelled) {
      setState({ phase: 'idle' });
      return;
    }
    if (outcome.failed !== undefined) {
      setState({
        phase: 'failed',
        target,
        message: outcome.failed,
        notConfigured: outcome.notConfigured ?? false,
      });
      return;
    }
    if (result === undefined) {
      setState({ phase: 'failed', target, message: 'The answer held no change.', notConfigured: false });
      return;
    }
    await review(target, result, mine);
  }

  /** Builds the preview from the file as the server has it now, which must be the version the diff is for. */
  async function review(target: RewriteTarget, result: RewriteResult, mine: number): Promise<void> {
    let original: string;
    try {
      const file = await options.files.read(options.workspaceId, result.path);
      if (mine !== generation) return;
      if (file.sha256 !== result.baseSha256) {
        setState({
          phase: 'stale',
          target,
          message: `${result.path} changed while the rewrite was being made. Nothing was written.`,
        });
        return;
      }
      original = file.content;
    } catch (error) {
      if (mine !== generation) return;
      setState({
        phase: 'failed',
        target,
        message: `Could not read ${result.path} to show the change: ${errorMessage(error)}`,
        notConfigured: false,
      });
      return;
    }
    if (result.diff.trim() === '') {
      setState({
        phase: 'failed',
        target,
        message: `The rewrite left ${result.path} as it was.`,
        notConfigured: false,
      });
      return;
    }
    try {
      const modified = applyUnifiedDiff(original, result.diff, result.path);
      setState({ phase: 'review', target, result, original, modified, applying: false });
    } catch (error) {
      setState({
        phase: 'failed',
        target,
        message: `The change could not be shown: ${error instanceof Error ? error.message : String(error)}`,
        notConfigured: false,
      });
    }
  }

  async function accept(): Promise<boolean> {
    const current = state();
    if (current.phase !== 'review' || current.applying) return false;
    const mine = generation;
    setState({ ...current, applying: true, error: undefined });
    const { result, target } = current;
    try {
      await options.patch.apply(options.workspaceId, result.diff, { [result.path]: result.baseSha256 });
    } catch (error) {
      if (mine !== generation) return false;
      if (error instanceof ApiError && (error.code === 'conflict' || error.code === 'invalid_patch')) {
        setState({
          phase: 'stale',
          target,
          message:
            error.code === 'conflict'
              ? `${result.path} changed since the rewrite was made. Nothing was written.`
              : `The change no longer applies to ${result.path}. Nothing was written.`,
        });
      } else {
        setState({
          ...current,
          applying: false,
          error: `Could not apply the change: ${errorMessage(error)}`,
        });
      }
      return false;
    }
    if (mine === generation) setState({ phase: 'idle' });
    await options.onApplied?.(result.path);
    return true;
  }

  return {
    state,
    start,
    async cancel() {
      const current = state();
      if (current.phase !== 'streaming' || call === undefined) return;
      patchStreaming({ cancelling: true });
      try {
        await call.cancel();
      } catch {
        // The server could not be told; stop waiting for it here at least.
        generation += 1;
        call.stop();
        setState({ phase: 'idle' });
      }
    },
    accept,
    reject() {
      if (state().phase === 'review') setState({ phase: 'idle' });
    },
    async retry() {
      const current = state();
      if (current.phase === 'idle' || current.phase === 'streaming') return;
      await start(current.target);
    },
    dismiss() {
      if (state().phase === 'streaming') return;
      generation += 1;
      setState({ phase: 'idle' });
    },
    dispose() {
      generation += 1;
      call?.stop();
    },
  };
}

/** What the review says it is about, e.g. "src/a.ts, lines 3–9". */
export function describeRewrite(target: RewriteTarget): string {
  return describeTarget(target.path, target.range);
}
